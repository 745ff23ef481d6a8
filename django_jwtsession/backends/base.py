"""What every strategy's store shares: claims, their refresh, and the session identity.

A store keeps Django's ``SessionBase`` API and adds ``claims`` (the hot-path
facts about the signed-in user), ``session_id`` (an opaque id, never the
cookie value) and the re-issue rules: claims older than ``CLAIMS_TTL`` are
rebuilt; a user who is gone, inactive or whose password changed ends the session.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, SessionBase
from django.db import Error as DatabaseError
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from .. import metrics
from ..claims import Claims, build_claims, user_id_string
from ..conf import get_settings
from ..records import prune_records, save_record
from ..refresh import session_user
from ..signals import claims_refreshed
from ..state import (
    State,
    StateUnavailable,
    prune_revoked_sessions,
    read_state,
    revoke_session,
    session_hash,
    start_session,
)

logger = logging.getLogger("django_jwtsession")


def new_session_id() -> str:
    return get_random_string(32, VALID_KEY_CHARS)


class ClaimsSessionBase(SessionBase):
    """``SessionBase`` plus claims; subclasses store the session somewhere."""

    strategy = ""
    """The strategy's name, as written in session records."""

    if TYPE_CHECKING:  # SessionBase internals that django-stubs does not declare
        _session_cache: dict[str, Any]

        async def _aget_session(self, no_load: bool = False) -> dict[str, Any]: ...

    def __init__(self, session_key: str | None = None) -> None:
        # SessionBase.__init__ minus its per-request import of SESSION_SERIALIZER,
        # which these stores never use (the token format is always JSON).
        self._session_key = session_key
        self.accessed = False
        self.modified = False
        self._sid: str | None = None
        self._started: int | None = None
        self._claims: Claims | None = None
        self._claims_at: int | None = None
        self.rejected: str | None = None
        """Why the incoming session was refused (a ``TokenError.reason``), else None."""
        self.refresh_reason: str | None = None
        """Why this store rebuilt the claims (``"login"``, ``"ttl"``, ``"mark"``,
        ``"forced"``), else None: the claims came as they were."""
        self._mark_seen = 0  # the user's mark version the claims were built against
        self._user_epoch = 0  # the user's revocation epoch when this session started
        self._global_epoch = 0  # the global revocation epoch when this session started
        self._epochs_stale = False  # a new session id: read the epochs before saving
        self._record_due = False  # signed in, refreshed or re-issued: write the record
        self._suspended = False  # the state check could not run: anonymous, cookie kept
        self._prefetched: State | None = None  # a state check made with the read (db strategy)
        self._adopted_from: Any = None  # an ``adopt.Adopted`` session of another kind
        self.client_meta: Mapping[str, Any] | None = None
        """The request's ``META`` (set by the middleware): IP and user agent for the record."""

    def _get_session(self, no_load: bool = False) -> dict[str, Any]:
        """``SessionBase._get_session`` without raising AttributeError on first use."""
        self.accessed = True
        cached: dict[str, Any] | None = self.__dict__.get("_session_cache")
        if cached is None:
            cached = {} if self.session_key is None or no_load else self.load()
            self._session_cache = cached
        return cached

    _session = property(_get_session)

    @property
    def serializer(self) -> Any:
        """Django's ``SESSION_SERIALIZER`` (kept for API compatibility; unused here)."""
        return import_string(settings.SESSION_SERIALIZER)

    # -- public additions -------------------------------------------------
    @property
    def claims(self) -> Claims | None:
        """Claims of the signed-in user (loads the session), or None when anonymous."""
        self._get_session()
        return self._claims

    @property
    def claims_at(self) -> int | None:
        """When the claims were built (Unix time)."""
        self._get_session()
        return self._claims_at

    @property
    def session_id(self) -> str | None:
        """The opaque id of this session (stable until ``cycle_key()``)."""
        self._get_session()
        return self._sid

    @property
    def started_at(self) -> int | None:
        """When this session started (Unix time): its login, kept across re-issues."""
        self._get_session()
        return self._started

    def set_user(
        self, user: AbstractBaseUser, state: State | None = None, reason: str = "login"
    ) -> None:
        """Build claims from ``user`` now (called on login, saves a query later).

        The mark version is read *before* the claims are built, so a mark made while
        they are being built is newer than the one recorded and triggers a rebuild.
        """
        if state is None:
            state = read_state(user_id_string(user), None)
        self._mark_seen = state.mark
        self._claims = build_claims(user)
        self._claims_at = int(time.time())
        self.modified = True
        self._record_due = True
        self.refresh_reason = reason
        metrics.count(f"refresh.{reason}", strategy=self.strategy)
        claims_refreshed.send(type(self), user=user, reason=reason)

    def refresh_claims(self) -> bool:
        """Rebuild the claims from the database now (reason ``"forced"``).

        False when nobody is signed in; a user who is gone, inactive or whose password
        changed ends the session (the cookie is deleted), and False is returned.
        """
        data = self._get_session()
        if data.get(SESSION_KEY) is None or self._suspended:
            return False
        if self._refresh(data, reason="forced"):
            return True
        self._session_cache = self._end()
        return False

    # -- claims freshness -------------------------------------------------
    def _needs_refresh(self, user_id: str, now: int) -> bool:
        """True when the claims are missing, another user's, or older than ``CLAIMS_TTL``."""
        return (
            self._claims is None
            or self._claims_at is None
            or self._claims.user_id != user_id
            or now - self._claims_at >= get_settings().claims_ttl
        )

    def _refresh(
        self, data: dict[str, Any], state: State | None = None, reason: str = "login"
    ) -> bool:
        """Rebuild claims from the database; False when the session must end."""
        if state is None:
            state = read_state(str(data[SESSION_KEY]), None)
        user, upgraded_hash = session_user(data)
        if user is None:
            return False
        if upgraded_hash is not None:  # as Django's get_user() cycles the key
            data[HASH_SESSION_KEY] = upgraded_hash
            old_sid = self._sid
            self._new_identity(keep_start=True)
            if old_sid is not None:
                revoke_session(old_sid)
        self.set_user(user, state, reason)
        return True

    def keep_after_revocation(self) -> None:
        """Re-issue this session under the current revocation epochs when saved."""
        self._epochs_stale = True
        self.modified = True

    def _revoked(self, state: State) -> bool:
        return (
            state.session_revoked
            or state.user_epoch > self._user_epoch
            or state.global_epoch > self._global_epoch
        )

    def _read_epochs(self, user_id: str) -> None:
        """A new session starts under the current revocation epochs."""
        assert self._sid is not None  # noqa: S101
        state = start_session(user_id, self._sid)
        self._user_epoch, self._global_epoch = state.user_epoch, state.global_epoch
        self._epochs_stale = False

    def _end(self) -> dict[str, Any]:
        """Forget the incoming session: the request is anonymous and the cookie goes."""
        self._session_key = None
        self._sid = self._started = None
        self._claims = self._claims_at = None
        self._mark_seen = self._user_epoch = self._global_epoch = 0
        self._prefetched = None
        self.modified = False
        return {}

    def _suspend(self) -> dict[str, Any]:
        """The state check could not run: this request is anonymous, the cookie stays.

        Nothing is saved back (the session is not lost); the next request, with the
        cache or database back, is checked again.
        """
        self.rejected = "unavailable"
        self._suspended = True
        self._claims = self._claims_at = None
        self.modified = False
        return {}

    def _write_record(self, expires: int) -> None:
        """Write the session record when it is due (login, refresh, re-issue, new expiry).

        Best effort: the record informs people, it does not carry the session, so a
        database that cannot take it is logged and the response goes out anyway.
        """
        user_id = self._session.get(SESSION_KEY)
        if not self._record_due or user_id is None or self._sid is None:
            return
        try:  # no savepoint: sessions are saved after ATOMIC_REQUESTS' transaction
            save_record(
                session_hash=session_hash(self._sid),
                user_id=str(user_id),
                strategy=self.strategy,
                meta=self.client_meta,
                expires=expires,
            )
        except DatabaseError:
            logger.warning("jwtsession: could not write a session record", exc_info=True)
            return
        self._record_due = False

    @property
    def suspended(self) -> bool:
        """True when the state check could not run: the middleware leaves the cookie as is."""
        return self._suspended

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

    def _next_session_id(self) -> str:
        return new_session_id()

    def _new_identity(self, keep_start: bool = False) -> None:
        self._sid = self._next_session_id()
        self._record_due = True
        self._suspended = False
        self._epochs_stale = True
        if not keep_start or self._started is None:
            self._started = int(time.time())
        self.modified = True

    def _claims_out_of_date(self) -> bool:
        """True when saving must first rebuild claims (a user just logged in)."""
        user_id = self._session.get(SESSION_KEY)
        return user_id is not None and (self._claims is None or self._claims.user_id != user_id)

    def _sync_claims(self) -> None:
        data = self._session
        if data.get(SESSION_KEY) is None or (
            self._claims_out_of_date() and not self._refresh(data)
        ):
            self._claims = self._claims_at = None

    # -- SessionBase overrides shared by every strategy --------------------
    def load(self) -> dict[str, Any]:
        try:
            data = self._read()
        except StateUnavailable:
            return self._suspend()
        if data is None or self._expired(data):
            return self._end()
        user_id = data.get(SESSION_KEY)
        if type(user_id) is not str:  # anonymous (Django always stores the id as a string)
            self._claims = self._claims_at = None
            return data
        state, self._prefetched = self._prefetched, None
        if state is None:
            try:
                state = read_state(user_id, self._sid, hot_path=True)  # the one cache round trip
            except StateUnavailable:
                return self._suspend()
        if self._revoked(state):
            self.rejected = "revoked"
            metrics.count("state.revoked", strategy=self.strategy)
            return self._end()
        if state.mark > self._mark_seen:
            reason = "mark"
        elif self._needs_refresh(user_id, int(time.time())):
            reason = "ttl" if self._claims is not None else "login"
        else:
            return data
        try:
            refreshed = self._refresh(data, state, reason)
        except DatabaseError:
            logger.warning("jwtsession: the database could not rebuild claims", exc_info=True)
            return self._suspend()
        if not refreshed:
            return self._end()
        return data

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    def _read(self) -> dict[str, Any] | None:
        """Read and verify the incoming session; None when it is refused.

        May raise ``StateUnavailable`` (a strategy that makes the state check with
        its read: the request is then anonymous and the cookie kept).
        """
        raise NotImplementedError

    def _adopt(self, value: str) -> dict[str, Any] | None:
        """A cookie of another kind named in ``ACCEPT_FROM``: verified by its own store and
        taken over (re-issued in this strategy on this response). None when it is not one.
        """
        accepted = tuple(kind for kind in get_settings().accept_from if kind != self.strategy)
        if not accepted:
            return None
        from . import adopt

        kind = adopt.kind_of(value, accepted)
        if kind is None:
            return None
        adopted = adopt.read(kind, value)  # may raise StateUnavailable: suspended
        if adopted is None:
            return None
        if not self._can_hold(adopted.data):
            logger.warning("jwtsession: a %s session is too large to take over", kind)
            adopt.end_old_session(adopted)
            return None
        return adopt.take_over(self, adopted)

    def _can_hold(self, data: dict[str, Any]) -> bool:
        """Whether this strategy can store ``data`` (a token has a size limit)."""
        return True

    def _finish_adoption(self) -> None:
        """Once the taken-over session is saved in this strategy, end the old one."""
        if self._adopted_from is not None:
            from . import adopt

            adopt.end_old_session(self._adopted_from)
            self._adopted_from = None

    def _refuse(self, reason: str) -> None:
        """Note why the incoming session is refused (a ``TokenError.reason``)."""
        self.rejected = reason
        metrics.count(f"decode.{reason}", strategy=self.strategy)
        logger.info("Session refused: %s", reason)

    def _apply(self, payload: dict[str, Any], now: int) -> dict[str, Any]:
        """Take identity, epochs and claims from a verified payload; return the data.

        Raises ``ValueError`` when the claims are malformed.
        """
        claims = Claims.from_dict(payload["clm"]) if "clm" in payload else None
        self._sid, self._started = payload["sid"], payload["sat"]
        self._mark_seen = payload.get("mv", 0)
        self._user_epoch, self._global_epoch = payload.get("rev", 0), payload.get("gre", 0)
        self._claims, self._claims_at = claims, payload.get("cat")
        if now - payload["iat"] >= get_settings().update_age:
            self.modified = True  # re-issue: slide the expiry, note "last seen"
            self._record_due = True
        data: dict[str, Any] = payload["dat"]
        return data

    def _payload(self, now: int) -> dict[str, Any]:
        """What a strategy stores: the data, the identity, the claims and their epochs."""
        if self._sid is None or self._started is None:
            self._new_identity()
        user_id = self._session.get(SESSION_KEY)
        if user_id is not None and self._epochs_stale:
            self._read_epochs(str(user_id))
        assert self._sid is not None  # noqa: S101
        assert self._started is not None  # noqa: S101
        lifetime_end = self._started + get_settings().max_lifetime
        expires = min(now + max(self.get_expiry_age(), 0), lifetime_end)
        payload: dict[str, Any] = {
            "sid": self._sid,
            "iat": now,
            "exp": max(expires, now),
            "sat": self._started,
            "dat": self._session,
        }
        if self._claims is not None:
            payload["clm"] = self._claims.to_dict()
            payload["cat"] = self._claims_at
            payload["mv"] = self._mark_seen
            payload["rev"] = self._user_epoch
            payload["gre"] = self._global_epoch
        return payload

    def _expired(self, data: dict[str, Any]) -> bool:
        """True when a ``set_expiry()`` date has passed: over at once, as with the db engine."""
        expiry = data.get("_session_expiry")
        if expiry is None:
            return False
        try:
            expired = SessionBase.get_expiry_age(self, expiry=expiry) <= 0
        except (TypeError, ValueError):
            expired = True
        if expired:
            self.rejected = "expired"
        return expired

    def clear(self) -> None:
        super().clear()
        self._claims = self._claims_at = None

    def is_empty(self) -> bool:
        if self._session_key and not hasattr(self, "_session_cache"):
            self._get_session()  # verify the cookie, so a bad one is deleted
        return super().is_empty()

    def cycle_key(self) -> None:
        """A new session id for the same data; an authenticated old id is revoked."""
        data = self._get_session()
        old_sid = self._sid
        signed_in = SESSION_KEY in data
        maybe_signed_in = signed_in or self._suspended  # a suspended session looks empty
        # A signed-in session keeps its start (MAX_LIFETIME counts from the login);
        # an anonymous one about to log in starts anew.
        self._new_identity(keep_start=signed_in)
        if old_sid is not None and maybe_signed_in:
            revoke_session(old_sid)

    async def acycle_key(self) -> None:
        await self._aget_session()
        await sync_to_async(self.cycle_key)()

    def flush(self) -> None:
        self._get_session()  # learn the session id, so delete() can revoke it
        super().flush()

    async def aflush(self) -> None:
        await self._aget_session()
        await sync_to_async(super().flush)()

    async def asave(self, must_create: bool = False) -> None:
        # Saving may rebuild claims or read the revocation epochs: database work.
        await sync_to_async(self.save)(must_create)

    def exists(self, session_key: str | None = None) -> bool:
        return False

    async def aexists(self, session_key: str | None = None) -> bool:
        return False

    def create(self) -> None:
        self._new_identity()

    async def acreate(self) -> None:
        self.create()

    def delete(self, session_key: str | None = None) -> None:
        if session_key is not None and session_key != self.session_key:
            return
        if self._sid is not None:
            revoke_session(self._sid)  # a copy of the cookie replayed later is anonymous
        self._session_key = None
        self._session_cache = {}
        self._sid = self._started = None
        self._claims = self._claims_at = None
        self._suspended = False
        self.modified = True

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    def get_expiry_age(self, **kwargs: Any) -> int:
        """Django's expiry age, capped by the absolute ``MAX_LIFETIME``."""
        age: int = super().get_expiry_age(**kwargs)
        if kwargs:
            return age
        now = int(time.time())
        started = now if self._started is None else self._started  # a new session starts now
        return min(age, started + get_settings().max_lifetime - now)

    @classmethod
    def clear_expired(cls) -> None:
        """``clearsessions``: delete expired session records, and revoked-session
        entries older than ``MAX_LIFETIME``.

        A session cannot outlive ``MAX_LIFETIME`` after it started, and it was revoked
        after it started: past that age its entry protects nothing.
        """
        prune_revoked_sessions()
        prune_records()

    @classmethod
    async def aclear_expired(cls) -> None:
        await sync_to_async(cls.clear_expired)()
