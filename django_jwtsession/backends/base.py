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

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils.module_loading import import_string

from .. import clocks, metrics, throttled_log
from ..claims import Claims
from ..exceptions import AmbiguousCookie, TokenError
from ..identity import SessionIdentity
from ..keyspace import session_hash
from ..signals import claims_refreshed
from ..state import State, StateUnavailable, new_session_id_issued
from . import adopt, freshness
from .expiry import CappedExpiry, end_idle
from .storage import Loaded, Origin, SessionEnded, Storage
from .threaded import ThreadedAsyncAPI
from .writing import WritingStore

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("django_jwtsession")


class ClaimsSessionBase(WritingStore, ThreadedAsyncAPI, CappedExpiry, SessionBase):
    """``SessionBase`` plus claims, over the storage :meth:`make_storage` gives."""

    if TYPE_CHECKING:  # SessionBase internals that django-stubs does not declare
        _session_cache: dict[str, Any]

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
        """Why this store rebuilt the claims (``"login"``, ``"ttl"``, ``"mark"``, ``"key"``,
        ``"forced"``), ``"shared"`` when it took another request's rebuild, else None: the
        claims came as they were."""
        self._epochs_stale = False  # a new session id: read the epochs before saving
        self._verified_hash: Any = None  # the auth hash the state check passed with
        self._record_due = False  # signed in, refreshed or re-issued: write the record
        self._suspended = False  # the state check could not run: anonymous, cookie kept
        self._deleted = False  # delete()d: saving it again would bring it back
        self._moved = False  # loading gave the session a new id (a take-over, a hash upgrade)
        self._origin: Origin | None = None  # a session of another kind, taken over
        self.ended_on_save = False
        """True when saving found the session revoked meanwhile: the cookie goes."""
        self.client_meta: Mapping[str, Any] | None = None
        """The request's ``META`` (set by the middleware): IP and user agent for the record."""
        self.can_move = True
        """False where no new cookie can reach the client (a websocket): reading never
        moves the session to a new id (a hash upgrade waits for the next request)."""

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
            if self._moved:  # loading moved the session to a new id: its key follows at once
                self._moved = False
                self._session_key = self._storage.key_for(self._payload(int(time.time())))
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
    def public_id(self) -> str | None:
        """This session's public id: the hash of :attr:`session_id`, as the REST API, "my
        sessions", the admin and the signals give it, and as ``revoke_session()`` takes it.

        Safe to show and log: it is what is stored, and nobody can act as the session with it.
        """
        session_id = self.session_id
        return None if session_id is None else session_hash(session_id)

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
        """Build claims from ``user`` now (called on login, saves a query later); a
        ``"login"`` is a sign-in, or a re-authentication: the session's ``signed_in_at``."""
        identity, now = self._current_identity(), int(time.time())
        state = freshness.user_state(user) if state is None else state
        identity = freshness.claims_for(user, identity, state, now)
        self._identity = identity.signed_in(now) if reason == "login" else identity
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
        if isinstance(checked, freshness.Refused):
            freshness.end_refused(self._identity, data, checked)
            self._session_cache = self._end()
            return False
        moved = checked.identity.session_id != self._identity.session_id
        self._accept(checked)
        if moved:  # a hash upgrade moved the session to a new id: its key follows at once
            self._session_key = self._storage.key_for(self._payload(now))
        return True

    def refuse_ambiguous(self) -> None:
        """The request sent the session cookie twice: anonymous, and no cookie written
        or deleted (see :mod:`~django_jwtsession.cookie_header`)."""
        self._refuse(AmbiguousCookie.reason)
        self._suspended = True

    def keep_after_revocation(self) -> None:
        """Re-issue this session under the current revocation epochs when saved."""
        self._epochs_stale = True
        self.modified = True

    # -- reading ------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        now = int(time.time())
        self._moved = False
        loaded: Loaded | None = None
        try:
            loaded = self._read(now)
            if loaded is None:
                return self._end()
            moves = self._storage.new_session_id if self.can_move else None
            checked = freshness.check(loaded, now, moves)
        except StateUnavailable:
            return self._suspend()
        except SessionEnded as ended:
            self.rejected = ended.reason
            if ended.reason == "revoked":
                metrics.count("state.revoked", strategy=self.strategy)
            elif ended.reason == clocks.IDLE and loaded is not None:
                end_idle(self._storage, loaded)
            return self._end()
        self._accept(checked)
        if loaded.origin is not None:
            self._take_over(loaded.origin)
        if checked.identity.session_id != loaded.identity.session_id or loaded.origin:
            self._moved = True
        elif loaded.stale_key or now - loaded.issued_at >= clocks.reissue_age(
            checked.data.get("_session_expiry")
        ):
            self.modified = True  # re-issue: slide the expiry (re-stamp), under the current key
            self._record_due = True  # and note "last seen"
        return checked.data

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
        metrics.count("decode.ok", strategy=self.strategy)
        return loaded

    def _accept(self, checked: freshness.Checked) -> None:
        self._identity = checked.identity
        self._verified_hash = checked.data.get(HASH_SESSION_KEY)
        if checked.rebuilt is not None:
            self._rebuilt(*checked.rebuilt)
        elif checked.shared:  # another request's rebuild: re-issued, no record, no signal
            self.modified = True
            self.refresh_reason = "shared"
            metrics.count("refresh.shared", strategy=self.strategy)

    def _rebuilt(self, user: AbstractBaseUser, reason: str) -> None:
        self.modified = True
        self._record_due = True
        self.refresh_reason = reason
        metrics.count(f"refresh.{reason}", strategy=self.strategy)
        claims_refreshed.send(type(self), user=user, reason=reason)

    def _take_over(self, origin: Origin) -> None:
        """Make a session of another kind this store's, under a new id, from this response."""
        assert self._identity is not None  # noqa: S101  (just checked)
        if origin.session_id is not None:  # ours: the same session under a new id
            self._identity = self._identity.successor(self._storage.new_session_id())
        new_session_id_issued(self._identity.session_id)
        self._epochs_stale = False  # keep the verified epochs: a later revocation still applies
        self._origin = origin
        self._record_due = True
        self.modified = True
        logger.info("jwtsession: a %s session taken over by %s", origin.kind, self.strategy)

    def _refuse(self, reason: str) -> None:
        """Note why the incoming session is refused (a ``TokenError.reason``)."""
        self.rejected = reason
        metrics.count(f"decode.{reason}", strategy=self.strategy)
        throttled_log.refused(reason)

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
