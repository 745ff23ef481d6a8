"""The sandbox's websocket: who is connected, from the same session cookie (Django Channels)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .views import whoami_payload


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/whoami/``: the ``/whoami/`` JSON at connect and in answer to every message.

    ``scope["user"]`` answers from the claims (no query). Revoke the session, or sign out,
    and the socket closes with code 4401 at the first message after the re-check bound
    (``sandbox/asgi.py``); change the user's roles and the next answer after it shows them.
    """

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(self.payload())

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(self.payload())

    def payload(self) -> dict[str, object]:
        # whoami_payload reads request.user and request.session only: the scope has both.
        connection = SimpleNamespace(user=self.scope["user"], session=self.scope["session"])
        return whoami_payload(connection)  # type: ignore[arg-type]
