"""Django's async session API for stores whose I/O is synchronous (the cache, the ORM).

Each call runs its sync counterpart in a thread (``sync_to_async``), so the event
loop never waits on a query or a cache round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async


class ThreadedAsyncAPI:
    """``aload``, ``asave``, ``acreate``, ``aexists``, ``acycle_key``, ``aflush``, ``adelete``."""

    if TYPE_CHECKING:  # provided by SessionBase and the store

        def load(self) -> dict[str, Any]: ...
        def save(self, must_create: bool = False) -> None: ...
        def create(self) -> None: ...
        def exists(self, session_key: str | None = None) -> bool: ...
        def cycle_key(self) -> None: ...
        def flush(self) -> None: ...
        def delete(self, session_key: str | None = None) -> None: ...
        def _get_session(self, no_load: bool = False) -> dict[str, Any]: ...

        accessed: bool

    async def _aget_session(self, no_load: bool = False) -> dict[str, Any]:
        """``_get_session()`` off the event loop (no thread when the session is loaded)."""
        cached: dict[str, Any] | None = self.__dict__.get("_session_cache")
        if cached is not None:
            self.accessed = True
            return cached
        return await sync_to_async(self._get_session)(no_load)

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def asave(self, must_create: bool = False) -> None:
        # Saving may rebuild claims or read the revocation epochs: database work.
        await sync_to_async(self.save)(must_create)

    async def acreate(self) -> None:
        await sync_to_async(self.create)()

    async def aexists(self, session_key: str | None = None) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def acycle_key(self) -> None:
        await self._aget_session()
        await sync_to_async(self.cycle_key)()

    async def aflush(self) -> None:
        await self._aget_session()
        await sync_to_async(self.flush)()

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
