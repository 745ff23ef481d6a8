"""The session store: Django's ``SessionBase`` API over a strategy's storage.

A store keeps Django's session API and adds ``claims`` (the hot-path facts about
the signed-in user), ``session_id`` (an opaque id, never the cookie value) and
``identity`` (:class:`~django_jwtsession.identity.SessionIdentity`). Reading and
writing belong to its storage (:mod:`~django_jwtsession.backends.storage`); what
to make of a session read — over, or kept with fresh claims — to
:mod:`~django_jwtsession.backends.freshness`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils.module_loading import import_string

from .. import metrics
from ..claims import Claims
from ..conf import get_settings
from ..exceptions import TokenError
from ..identity import SessionIdentity
from ..records import prune_records
from ..revocation import prune_revoked_sessions
from ..signals import claims_refreshed
from ..state import State, StateUnavailable, start_session
from . import adopt, freshness
from .storage import Loaded, Origin, SessionEnded, Storage

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("django_jwtsession")


class ClaimsSessionBase(SessionBase):
    """``SessionBase`` plus claims, over the storage :meth:`make_storage` gives."""

    if TYPE_CHECKING:  # SessionBase internals that django-stubs does not declare
        _session_cache: dict[str, Any]

        async def _aget_session(self, no_load: bool = False) -> dict[str, Any]: ...

    def __init__(self, session_key: str | None = None) -> None:
        # SessionBase.__init__ minus its per-request import of SESSION_SERIALIZER,
        # which these stores never use (the token format is always JSON).
        self._session_key = session_key
        self.accessed = False
        self.modified = False
        self._storage = self.make_storage()
        self._identity: SessionIdentity | None = None
        self.rejected: str | None = None
        """Why the incoming session was refused (a ``TokenError.reason``), else None."""
        self.refresh_reason: str | None = None
        """Why this store rebuilt the claims (``"login"``, ``"ttl"``, ``"mark"``,
        ``"forced"``), else None: the claims came as they were."""
        self._epochs_stale = False  # a new session id: read the epochs before saving
        self._record_due = False  # signed in, refreshed or re-issued: write the record
        self._suspended = False  # the state check could not run: anonymous, cookie kept
        self._origin: Origin | None = None  # a session of another kind, taken over
        self.ended_on_save = False
        """True when saving found the session revoked meanwhile: the cookie goes."""
        self.client_meta: Mapping[str, Any] | None = None
        """The request's ``META`` (set by the middleware): IP and user agent for the record."""

    @classmethod
    def make_storage(cls) -> Storage:
        """The storage of this store's strategy (one per store)."""
        raise NotImplementedError

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
    def strategy(self) -> str:
        """The strategy's name (``"jwt"`` or ``"db"``), as written in session records."""
        return self._storage.strategy

    @property
    def identity(self) -> SessionIdentity | None:
        """Who this session is (loads the session), or None before it has an id."""
        self._get_session()
        return self._identity

    @property
    def claims(self) -> Claims | None:
        """Claims of the signed-in user (loads the session), or None when anonymous."""
        identity = self.identity
        return None if identity is None else identity.claims

    @property
    def claims_at(self) -> int | None:
        """When the claims were built (Unix time)."""
        identity = self.identity
        return None if identity is None else identity.claims_at

    @property
    def session_id(self) -> str | None:
        """The opaque id of this session (stable until ``cycle_key()``)."""
        identity = self.identity
        return None if identity is None else identity.session_id

    @property
    def started_at(self) -> int | None:
        """When this session started (Unix time): its login, kept across re-issues."""
        identity = self.identity
        return None if identity is None else identity.started

    @property
    def suspended(self) -> bool:
        """True when the state check could not run: the middleware leaves the cookie as is."""
        return self._suspended

    def set_user(
        self, user: AbstractBaseUser, state: State | None = None, reason: str = "login"
    ) -> None:
        """Build claims from ``user`` now (called on login, saves a query later)."""
        identity = self._current_identity()
        state = freshness.user_state(user) if state is None else state
        self._identity = freshness.claims_for(user, identity, state, int(time.time()))
        self._rebuilt(user, reason)

    def refresh_claims(self) -> bool:
        """Rebuild the claims from the database now (reason ``"forced"``).

        False when nobody is signed in; a user who is gone, inactive or whose password
        changed ends the session (the cookie is deleted), and False is returned.
        """
        data = self._get_session()
        if data.get(SESSION_KEY) is None or self._suspended or self._identity is None:
            return False
        now = int(time.time())
        checked = freshness.rebuild(
            data, self._identity, None, "forced", now, self._storage.new_session_id
        )
        if checked is None:
            self._session_cache = self._end()
            return False
        self._accept(checked)
        return True

    def keep_after_revocation(self) -> None:
        """Re-issue this session under the current revocation epochs when saved."""
        self._epochs_stale = True
        self.modified = True

    # -- reading ------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        now = int(time.time())
        try:
            loaded = self._read(now)
            if loaded is None:
                return self._end()
            checked = freshness.check(loaded, now, self._storage.new_session_id)
        except StateUnavailable:
            return self._suspend()
        except SessionEnded as ended:
            self.rejected = ended.reason
            return self._end()
        self._accept(checked)
        if loaded.origin is not None:
            self._take_over(loaded.origin)
        elif loaded.stale_key or now - loaded.issued_at >= get_settings().update_age:
            self.modified = True  # re-issue: slide the expiry, under the current key
            self._record_due = True  # and note "last seen"
        return checked.data

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    def _read(self, now: int) -> Loaded | None:
        """The incoming session as its storage (or an accepted kind's) reads it."""
        key = self.session_key
        if not key:
            return None
        if not self._storage.recognizes(key):  # perhaps a cookie of another kind
            adopted = adopt.read(key, self._storage, now)
            if adopted is not None:
                return adopted
        try:
            loaded = self._storage.read(key, now)
        except TokenError as exc:
            self._refuse(exc.reason)
            return None
        metrics.count("decode.ok")
        return loaded

    def _accept(self, checked: freshness.Checked) -> None:
        self._identity = checked.identity
        if checked.rebuilt is not None:
            self._rebuilt(*checked.rebuilt)

    def _rebuilt(self, user: AbstractBaseUser, reason: str) -> None:
        self.modified = True
        self._record_due = True
        self.refresh_reason = reason
        metrics.count(f"refresh.{reason}")
        claims_refreshed.send(type(self), user=user, reason=reason)

    def _take_over(self, origin: Origin) -> None:
        """Make a session of another kind this store's, under a new id, from this response."""
        assert self._identity is not None  # noqa: S101  (just checked)
        if origin.session_id is not None:  # ours: the same session under a new id
            self._identity = self._identity.successor(self._storage.new_session_id())
        self._epochs_stale = False  # keep the verified epochs: a later revocation still applies
        self._origin = origin
        self._record_due = True
        self.modified = True
        logger.info("jwtsession: a %s session taken over by %s", origin.kind, self.strategy)

    def _refuse(self, reason: str) -> None:
        """Note why the incoming session is refused (a ``TokenError.reason``)."""
        self.rejected = reason
        metrics.count(f"decode.{reason}")
        logger.info("Session refused: %s", reason)

    def _end(self) -> dict[str, Any]:
        """Forget the incoming session: the request is anonymous and the cookie goes."""
        self._session_key = None
        self._identity = None
        self.modified = False
        return {}

    def _suspend(self) -> dict[str, Any]:
        """The state check could not run: this request is anonymous, the cookie stays.

        Nothing is saved back (the session is not lost); the next request, with the
        cache or database back, is checked again.
        """
        self.rejected = "unavailable"
        self._suspended = True
        self._identity = None
        self.modified = False
        return {}

    # -- writing ------------------------------------------------------------
    def _current_identity(self) -> SessionIdentity:
        if self._identity is None:
            self._new_identity(keep_start=False)
        assert self._identity is not None  # noqa: S101
        return self._identity

    def _new_identity(self, keep_start: bool) -> None:
        """A new session id; a signed-in session keeps its start (``MAX_LIFETIME``)."""
        session_id = self._storage.new_session_id()
        old = self._identity
        if keep_start and old is not None:
            self._identity = old.successor(session_id)
        else:
            self._identity = SessionIdentity.new(session_id)
        self._record_due = True
        self._suspended = False
        self._epochs_stale = True
        self.modified = True

    def _payload(self, now: int) -> dict[str, Any]:
        """What the storage stores: the identity, ``iat``, ``exp`` and the data."""
        identity = self._current_identity()
        user_id = self._session.get(SESSION_KEY)
        if user_id is not None and self._epochs_stale:  # a new session: under today's epochs
            state = start_session(str(user_id), identity.session_id)
            identity = identity.under_epochs(state.user_epoch, state.global_epoch)
            self._identity, self._epochs_stale = identity, False
        lifetime_end = identity.started + get_settings().max_lifetime
        expires = min(now + max(self.get_expiry_age(), 0), lifetime_end)
        return {**identity.to_payload(), "iat": now, "exp": max(expires, now), "dat": self._session}

    def _sync_claims(self) -> None:
        """Before saving: claims for the user who just signed in, none when anonymous."""
        data = self._session
        user_id = data.get(SESSION_KEY)
        identity = self._current_identity()
        if user_id is None:
            if identity.claims is not None:
                self._identity = identity.without_claims()
            return
        if identity.claims is not None and identity.claims.user_id == user_id:
            return
        checked = freshness.rebuild(
            data, identity, None, "login", int(time.time()), self._storage.new_session_id
        )
        if checked is None:
            self._identity = identity.without_claims()
        else:
            self._accept(checked)

    def save(self, must_create: bool = False) -> None:
        if self._suspended:
            return  # the state check could not run: keep the incoming cookie as it is
        self._sync_claims()
        try:
            self._session_key = self._storage.write(
                self._payload(int(time.time())),
                client_meta=self.client_meta,
                record_due=self._record_due,
                must_create=must_create,
            )
        except SessionEnded as ended:  # revoked while this request ran: not brought back
            self.rejected, self.ended_on_save = ended.reason, True
            self._forget(None)
            return
        self._record_due = False
        self.modified = True
        origin, self._origin = self._origin, None
        adopt.end(origin)  # the taken-over session is saved here: end the old one

    async def asave(self, must_create: bool = False) -> None:
        # Saving may rebuild claims or read the revocation epochs: database work.
        await sync_to_async(self.save)(must_create)

    def create(self) -> None:
        self._new_identity(keep_start=False)

    async def acreate(self) -> None:
        self.create()

    def exists(self, session_key: str | None = None) -> bool:
        return self._storage.exists(session_key)

    async def aexists(self, session_key: str | None = None) -> bool:
        return await sync_to_async(self.exists)(session_key)

    # -- ending and cycling ---------------------------------------------------
    def _incoming(self) -> tuple[str, bool] | None:
        """``(session_id, signed_in)`` of the session this store holds, or None."""
        if self._identity is not None:
            signed_in = SESSION_KEY in self.__dict__.get("_session_cache", {})
            return self._identity.session_id, signed_in
        key = self.session_key
        if key and (self._suspended or "_session_cache" not in self.__dict__):
            return self._storage.peek(key)  # not loaded (or not checkable): the key says
        return None

    def cycle_key(self) -> None:
        """A new session id (and key, at once) for the same data; the old one ends."""
        data = self._get_session()
        incoming = self._incoming()
        signed_in = SESSION_KEY in data
        self._new_identity(keep_start=signed_in)
        self._session_key = self._storage.key_for(self._payload(int(time.time())))
        if incoming is not None:
            old_id, was_signed_in = incoming
            self._storage.discard(old_id, signed_in=was_signed_in or signed_in)

    async def acycle_key(self) -> None:
        await self._aget_session()
        await sync_to_async(self.cycle_key)()

    def flush(self) -> None:
        self._get_session()  # learn who this session is, so delete() can end it
        incoming = self._incoming()
        self.clear()
        self._forget(incoming)
        self._session_key = None

    async def aflush(self) -> None:
        await self._aget_session()
        await sync_to_async(self.flush)()

    def delete(self, session_key: str | None = None) -> None:
        """End this session — or, with another ``session_key``, that one, as Django's
        stores do: a signed-in session is revoked, so a copy of its cookie replayed
        later is anonymous."""
        if session_key is not None and session_key != self.session_key:
            other = self.make_storage()
            peeked = other.peek(session_key)
            if peeked is not None:
                other.discard(peeked[0], signed_in=peeked[1])
            return
        self._forget(self._incoming())

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    def _forget(self, incoming: tuple[str, bool] | None) -> None:
        if incoming is not None:
            self._storage.discard(incoming[0], signed_in=incoming[1] or self._suspended)
        self._session_key = None
        self._session_cache = {}
        self._identity = None
        self._suspended = False
        self.modified = True

    def clear(self) -> None:
        super().clear()
        if self._identity is not None and self._identity.claims is not None:
            self._identity = self._identity.without_claims()

    # -- expiry ---------------------------------------------------------------
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
        started = now if self._identity is None else self._identity.started
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
