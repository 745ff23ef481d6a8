"""Session expiry: Django's (``SESSION_COOKIE_AGE``, ``set_expiry()``), capped by the
absolute ``MAX_LIFETIME`` counted from the sign-in; the end of a session that idled out
(``IDLE_TIMEOUT``, :mod:`~django_jwtsession.clocks`); and ``clearsessions``."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.db import DatabaseError
from django.utils import timezone

from ..bans import prune_bans
from ..conf import get_settings
from ..end_reasons import EndReason
from ..history import prune_records
from ..keyspace import session_hash
from ..records import as_datetime
from ..revocation import prune_revoked_sessions, revoke_session

if TYPE_CHECKING:
    from ..identity import SessionIdentity
    from .storage import Loaded, Storage

logger = logging.getLogger("django_jwtsession")


def end_idle(storage: Storage, loaded: Loaded) -> None:
    """End a session that idled out, once (end reason ``"idle"``): a signed-in one is
    revoked as a logout revokes it (its record closed, a db one's data cleared), so a copy
    of its cookie replayed later is refused as revoked, with no further write; an anonymous
    db session's row goes. The request is anonymous and the cookie goes whatever happens
    here: a database error is logged, not raised."""
    session_id = loaded.identity.session_id
    try:
        if SESSION_KEY in loaded.data:  # either strategy, taken over or not
            revoke_session(session_hash(session_id), reason=EndReason.IDLE)
        elif loaded.origin is None:
            storage.discard(session_id, signed_in=False)
    except DatabaseError:
        logger.warning("jwtsession: could not end a session that idled out", exc_info=True)


class CappedExpiry(SessionBase):
    """Expiry of a store with an identity: no session outlives ``MAX_LIFETIME``."""

    if TYPE_CHECKING:  # set by the store
        _identity: SessionIdentity | None
        _record_due: bool

        async def _aget_session(self, no_load: bool = False) -> dict[str, Any]: ...

    def set_expiry(self, value: Any) -> None:
        super().set_expiry(value)
        self._record_due = True  # the record's "expires" follows

    async def aset_expiry(self, value: Any) -> None:
        await sync_to_async(self.set_expiry)(value)

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        await self._aget_session()
        return self.get_expiry_age(**kwargs)

    async def aget_expiry_date(self, **kwargs: Any) -> Any:
        await self._aget_session()
        return self.get_expiry_date(**kwargs)

    def get_expiry_age(self, **kwargs: Any) -> int:
        """Django's expiry age, capped by the absolute ``MAX_LIFETIME``."""
        age: int = super().get_expiry_age(**kwargs)
        if kwargs:
            return age
        now = int(time.time())
        started = now if self._identity is None else self._identity.lifetime_start
        return min(age, started + get_settings().max_lifetime - now)

    def get_expiry_date(self, **kwargs: Any) -> Any:
        """Django's expiry date, capped by the absolute ``MAX_LIFETIME``."""
        date = super().get_expiry_date(**kwargs)
        if kwargs or self._identity is None:
            return date
        cap = as_datetime(self._identity.lifetime_start + get_settings().max_lifetime)
        return min(date, cap) if timezone.is_aware(date) == timezone.is_aware(cap) else date

    @classmethod
    def clear_expired(cls) -> None:
        """``clearsessions``: end the records of expired sessions, delete ended ones older
        than ``HISTORY_RETENTION``, revoked-session entries older than ``MAX_LIFETIME`` and
        bans that are over.

        A session cannot outlive ``MAX_LIFETIME`` after it started, and it was revoked
        after it started: past that age its entry protects nothing.
        """
        prune_revoked_sessions()
        prune_records()
        prune_bans()

    @classmethod
    async def aclear_expired(cls) -> None:
        await sync_to_async(cls.clear_expired)()
