"""Writing a session, and ending or cycling it: the half of the store that stores.

A mixin of :class:`~django_jwtsession.backends.base.ClaimsSessionBase`: the
identity the session is saved under (a new one reads the current revocation
epochs), the claims for a user who just signed in, and what ``cycle_key()``,
``flush()`` and ``delete()`` end (a signed-in session is revoked, so a copy of
its cookie replayed later is anonymous).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase, UpdateError

from ..actor import Actor
from ..conf import get_settings
from ..end_reasons import EndReason
from ..identity import SessionIdentity
from ..state import new_session_id_issued, start_session
from . import adopt, freshness
from .storage import NeedsNewId, Origin, SaveOptions, SessionEnded, Storage


class WritingStore(SessionBase):
    """Saving, creating, cycling, flushing and deleting, over the store's storage."""

    if TYPE_CHECKING:  # set by the store
        _storage: Storage
        _identity: SessionIdentity | None
        _epochs_stale: bool
        _verified_hash: Any
        _record_due: bool
        _suspended: bool
        _deleted: bool
        _moved: bool
        _origin: Origin | None
        _session_cache: dict[str, Any]
        rejected: str | None
        ended_on_save: bool
        client_meta: Mapping[str, Any] | None

        @property
        def _session(self) -> dict[str, Any]: ...
        def make_storage(self) -> Storage: ...
        def _get_session(self, no_load: bool = False) -> dict[str, Any]: ...
        def _accept(self, checked: freshness.Checked) -> None: ...

    def _current_identity(self) -> SessionIdentity:
        if self._identity is None:
            self._new_identity(keep_start=False)
        assert self._identity is not None  # noqa: S101
        return self._identity

    def _new_identity(self, keep_start: bool) -> None:
        """A new session id. A signed-in session's successor keeps its start
        (``MAX_LIFETIME``) and the epochs it was verified under, so a revocation made since
        still ends it — unless the request re-authenticates it (see :meth:`_payload`)."""
        session_id = self._storage.new_session_id()
        old = self._identity
        if keep_start and old is not None:
            self._identity = old.successor(session_id)
            user_id = self.__dict__.get("_session_cache", {}).get(SESSION_KEY)
            new_session_id_issued(session_id, user_id)  # its first state check hits the cache
        else:
            self._identity = SessionIdentity.new(session_id)
            self._epochs_stale = True  # a new session starts under today's epochs
        self._record_due = True
        self._suspended = self._deleted = False
        self.modified = True

    def _payload(self, now: int) -> dict[str, Any]:
        """What the storage stores: the identity, ``iat``, ``exp`` and the data."""
        identity = self._current_identity()
        data = self._session
        user_id = data.get(SESSION_KEY)
        reauthenticated = data.get(HASH_SESSION_KEY) != self._verified_hash
        if user_id is not None and (self._epochs_stale or reauthenticated):
            # A new sign-in, or a session whose auth hash this request changed (e.g.
            # update_session_auth_hash() after a password change): under today's epochs.
            state = start_session(str(user_id), identity.session_id)
            identity = identity.under_epochs(state.user_epoch, state.global_epoch)
            self._identity, self._epochs_stale = identity, False
            self._verified_hash = data.get(HASH_SESSION_KEY)
        lifetime_end = identity.lifetime_start + get_settings().max_lifetime
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
        if isinstance(checked, freshness.Refused):
            self._identity = identity.without_claims()
        else:
            self._accept(checked)

    def save(self, must_create: bool = False) -> None:
        if self._suspended:
            return  # the state check could not run: keep the incoming cookie as it is
        if self._deleted:  # delete()d, by this store: never brought back
            raise UpdateError
        self._sync_claims()
        options = SaveOptions(self.client_meta, self._record_due, must_create)
        try:
            try:
                self._session_key = self._storage.write(self._payload(int(time.time())), options)
            except NeedsNewId:  # e.g. a token grown too large: it spills under a new id
                incoming = self._incoming()
                self._new_identity(keep_start=True)
                self._session_key = self._storage.write(self._payload(int(time.time())), options)
                self._end_stored(incoming, EndReason.CYCLED)
        except SessionEnded as ended:  # revoked while this request ran: not brought back
            self.rejected, self.ended_on_save = ended.reason, True
            self._reset()
            return
        self._record_due = False
        self.modified = True
        origin, self._origin = self._origin, None
        adopt.end(origin)  # the taken-over session is saved here: end the old one

    def create(self) -> None:
        self._new_identity(keep_start=False)

    def exists(self, session_key: str | None = None) -> bool:
        return self._storage.exists(session_key)

    # -- impersonation (see django_jwtsession.impersonation) -------------------------------
    @property
    def actor(self) -> Actor | None:
        """Who acts in this session when it is an impersonation (loads it), else None."""
        self._get_session()
        return None if self._identity is None else self._identity.actor

    def set_actor(self, actor: Actor) -> None:
        """Someone else acts in this signed-in session from now on (an impersonation)."""
        self._identity = self._current_identity().acted_by(actor)
        self.modified = self._record_due = True

    def restore_sign_in(self, started: int, signed_in_at: int) -> None:
        """This session goes on from one that started at ``started`` and last signed in at
        ``signed_in_at`` (an impersonator returning): ``MAX_LIFETIME`` and the fresh-login
        guards count from those, never from the return."""
        identity = self._current_identity()
        started = min(started, identity.started)
        signed_in_at = max(started, min(signed_in_at, identity.signed_in_at))
        self._identity = dataclasses.replace(
            identity, started=started, authenticated_at=signed_in_at
        )
        self.modified = self._record_due = True

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
            signed_in = was_signed_in or signed_in
            self._storage.discard(old_id, signed_in=signed_in, reason=EndReason.CYCLED)

    def flush(self) -> None:
        """End this session and start an empty one (``logout()``), by its user — or, in an
        impersonation, by the impersonator, who is the one acting."""
        data = self._get_session()  # learn who this session is, so it can be ended
        self.flush_for(EndReason.LOGOUT, by=self._acting(data))

    def _acting(self, data: dict[str, Any]) -> str | None:
        """Who acts in this session: its impersonator, else its user (a user id)."""
        actor = None if self._identity is None else self._identity.actor
        return actor.user_id if actor is not None else data.get(SESSION_KEY)

    def flush_for(self, reason: str, by: str | None) -> None:
        """:meth:`flush`, the session's end recorded with ``reason``, ``by`` a user id."""
        self._get_session()
        self._end_stored(self._incoming(), reason, by=by)
        SessionBase.clear(self)  # accessed and modified, as Django's flush() leaves them
        self._reset()

    def delete(self, session_key: str | None = None) -> None:
        """End the stored session — this one, or with another ``session_key`` that one —
        as Django's stores do: a signed-in session is revoked, so a copy of its cookie
        replayed later is anonymous. This store keeps its key and data, as Django's do:
        saving it afterwards raises ``UpdateError`` (``SessionInterrupted``)."""
        if session_key is not None and session_key != self.session_key:
            other = self.make_storage()
            peeked = other.peek(session_key)
            if peeked is not None:
                other.discard(peeked[0], signed_in=peeked[1], reason=EndReason.REVOKED)
            return
        self._end_stored(self._incoming(), EndReason.REVOKED)
        if self.session_key is not None:
            self._deleted = True

    def _end_stored(
        self, incoming: tuple[str, bool] | None, reason: str, by: str | None = None
    ) -> None:
        """End the stored session (a signed-in one is revoked: ``reason`` and ``by`` go to
        its history) and any session taken over on this very request."""
        if incoming is not None:
            signed_in = incoming[1] or self._suspended
            self._storage.discard(incoming[0], signed_in=signed_in, reason=reason, by=by)
        origin, self._origin = self._origin, None
        adopt.end(origin)  # a session taken over on this very request ends with it

    def _reset(self) -> None:
        """No session any more: the next save starts a new one."""
        self._session_key = None
        self._session_cache = {}
        self._identity = None
        self._suspended = self._deleted = False
        self.modified = True

    def clear(self) -> None:
        """Empty the session; an anonymous one goes on under its key (read first, so it is
        known). A signed-in one is signed out as by a logout: it goes on under a new id,
        and copies of its old cookie are anonymous."""
        data = self._get_session()
        incoming = self._incoming() if SESSION_KEY in data else None
        super().clear()
        if incoming is not None:
            self._end_stored(incoming, EndReason.LOGOUT, by=self._acting(data))
            self._new_identity(keep_start=False)
        elif self._identity is not None and self._identity.claims is not None:
            self._identity = self._identity.without_claims()
