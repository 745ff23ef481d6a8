"""What a store decides about a session it read: over, or kept (its claims rebuilt if stale).

Shared by every strategy, and by sessions taken over from another kind: a
session whose ``set_expiry()`` date passed, that was revoked (by itself, with its
user's sessions, or with all sessions) or that idled out (``IDLE_TIMEOUT``) is over;
claims marked stale, older than ``CLAIMS_TTL`` or missing are rebuilt from the
database; a user who is gone, inactive or whose password changed ends the session, and
so does, for an impersonated session, an impersonator who may no longer impersonate.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.db import Error as DatabaseError
from django.utils import timezone

from .. import clocks, shared_claims
from ..claims import build_claims, user_id_string
from ..conf import get_settings
from ..history import end_found_over
from ..identity import SessionIdentity
from ..impersonation_rules import verified_actor
from ..keyspace import session_hash
from ..refresh import hash_key_id, session_user_verdict
from ..revocation import revoke_session
from ..state import (
    State,
    StateUnavailable,
    new_session_id_issued,
    read_state,
    read_state_from_database,
)
from .storage import Loaded, SessionEnded

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("django_jwtsession")


class Rebuilt(NamedTuple):
    user: AbstractBaseUser
    """The user the claims were built from."""
    reason: str
    """``"login"``, ``"ttl"``, ``"mark"``, ``"key"`` (``SECRET_KEY`` changed) or ``"forced"``."""


class Refused(NamedTuple):
    """The rebuild found that the session must end, and why (an ``EndReason`` value)."""

    reason: str


class Checked(NamedTuple):
    data: dict[str, Any]
    identity: SessionIdentity
    rebuilt: Rebuilt | None = None
    shared: bool = False
    """The claims came from another request's rebuild (:mod:`~django_jwtsession.shared_claims`)."""


def expired(data: dict[str, Any]) -> bool:
    """True when a ``set_expiry()`` date has passed: over at once, as with the db engine."""
    expiry = data.get("_session_expiry")
    if not expiry:  # None, or 0: at browser close
        return False
    if type(expiry) is int:  # seconds of inactivity, as SessionBase.get_expiry_age() reads it
        return expiry <= 0
    try:
        delta = datetime.fromisoformat(expiry) - timezone.now()
    except (TypeError, ValueError):  # not a date Django wrote: over
        return True
    return delta.days * 86400 + delta.seconds <= 0


def idled_out(loaded: Loaded, now: int) -> bool:
    """True when the session was last written ``IDLE_TIMEOUT`` ago or more (a session of
    Django's engines, taken over, carries no stamp: it starts one now)."""
    stamped = loaded.origin is None or loaded.origin.session_id is not None
    return stamped and clocks.idled_out(loaded.issued_at, now)


def revoked(identity: SessionIdentity, state: State) -> bool:
    return (
        state.session_revoked
        or state.user_epoch > identity.user_epoch
        or state.global_epoch > identity.global_epoch
    )


def beyond(identity: SessionIdentity, state: State) -> bool:
    """True when the session carries a counter the server has not reached: not issued here."""
    return (
        identity.mark_seen > state.mark
        or identity.user_epoch > state.user_epoch
        or identity.global_epoch > state.global_epoch
    )


def stale_reason(identity: SessionIdentity, state: State, user_id: str, now: int) -> str | None:
    """Why the claims must be rebuilt now, or None when they are fresh."""
    if state.mark > identity.mark_seen:
        return "mark"
    claims, built = identity.claims, identity.claims_at
    if claims is None or built is None or claims.user_id != user_id:
        return "login"
    if identity.hash_key != hash_key_id():  # SECRET_KEY changed: check the auth hash now
        return "key"
    if now - built >= get_settings().claims_ttl:
        return "ttl"
    return None


def check(loaded: Loaded, now: int, new_session_id: Callable[[], str] | None) -> Checked:
    """Decide about a session just read; raise ``SessionEnded`` or ``StateUnavailable``."""
    data, identity = loaded.data, loaded.identity
    if expired(data):
        raise SessionEnded("expired")
    user_id = data.get(SESSION_KEY)
    if type(user_id) is not str:  # anonymous (Django always stores the id as a string)
        if idled_out(loaded, now):
            raise SessionEnded(clocks.IDLE)
        return Checked(data, identity.without_claims() if identity.claims else identity)
    if HASH_SESSION_KEY not in data:  # login() always writes it: not a session of ours
        raise SessionEnded("claims")
    state = loaded.state
    if state is None:
        state = read_state(user_id, identity.session_id, hot_path=True)  # the one round trip
    if beyond(identity, state):  # a cache behind the database? ask the database
        state = read_state_from_database(user_id, identity.session_id)
        if beyond(identity, state):
            raise SessionEnded("claims")
    if revoked(identity, state):
        raise SessionEnded("revoked")
    if idled_out(loaded, now):  # after the state check: a revoked copy is ended once only
        raise SessionEnded(clocks.IDLE)
    reason = stale_reason(identity, state, user_id, now)
    if reason is None:
        return Checked(data, identity)
    if reason not in shared_claims.SHAREABLE or identity.actor is not None:
        # An impersonation rebuilds its own claims: its impersonator is checked again then.
        return _rebuilt(data, identity, state, reason, now, new_session_id)
    taken = shared_claims.take(data, identity, state.mark, reason, now)
    if taken is not None:  # another session of this user rebuilt them: no SQL
        return Checked(data, taken, shared=True)
    with shared_claims.single_flight(user_id, state.mark) as leader:
        if not leader:  # another request of this process rebuilt them meanwhile
            taken = shared_claims.take(data, identity, state.mark, reason, now)
            if taken is not None:
                return Checked(data, taken, shared=True)
        return _rebuilt(data, identity, state, reason, now, new_session_id)


def _rebuilt(
    data: dict[str, Any],
    identity: SessionIdentity,
    state: State,
    reason: str,
    now: int,
    new_session_id: Callable[[], str] | None,
) -> Checked:
    """:func:`rebuild` for the state check: a database error leaves the session unchecked."""
    try:
        checked = rebuild(data, identity, state, reason, now, new_session_id)
    except DatabaseError as exc:
        logger.warning("jwtsession: the database could not rebuild claims", exc_info=True)
        raise StateUnavailable("database unreachable") from exc
    if isinstance(checked, Refused):
        end_refused(identity, data, checked)
        raise SessionEnded("user")
    return checked


def end_refused(identity: SessionIdentity, data: dict[str, Any], refused: Refused) -> None:
    """A session its rebuild ended: its record ends too, for the history."""
    user_id = data.get(SESSION_KEY)
    try:
        end_found_over(
            session_hash(identity.session_id),
            user_id if isinstance(user_id, str) else None,
            refused.reason,
        )
    except DatabaseError:
        logger.warning("jwtsession: could not record why a session ended", exc_info=True)


def rebuild(
    data: dict[str, Any],
    identity: SessionIdentity,
    state: State | None,
    reason: str,
    now: int,
    new_session_id: Callable[[], str] | None,
) -> Checked | Refused:
    """Claims rebuilt from the database (Django's ``get_user()`` checks included);
    :class:`Refused` when the session must end.

    A session hash that verified only under a ``SECRET_KEY_FALLBACKS`` key is
    upgraded, and the session moves to a new id (the old one is revoked), as
    Django's ``get_user()`` cycles the key. Without ``new_session_id`` (a reader that
    cannot hand out a new cookie: a websocket) both wait for the next request.
    """
    user_id = data[SESSION_KEY]
    if state is None:
        state = read_state(str(user_id), None)
    user, upgraded_hash, why = session_user_verdict(data)
    if user is None:
        if why == "password_change" and identity.hash_key != hash_key_id():
            why = "key_rotation"  # hashed under a SECRET_KEY that no fallback verifies
        return Refused(why or "deactivated")
    if identity.actor is not None and verified_actor(identity.actor, user) is None:
        return Refused("impersonation_end")  # the impersonator may no longer act as user
    upgraded = identity
    if upgraded_hash is not None and new_session_id is not None:
        data[HASH_SESSION_KEY] = upgraded_hash
        old_id = identity.session_id
        identity = identity.successor(new_session_id())
        new_session_id_issued(identity.session_id, user_id)
        revoke_session(session_hash(old_id), reason="cycled")  # it goes on under the new id
    rebuilt = claims_for(user, identity, state, now)
    if upgraded_hash is not None and new_session_id is None:
        # The hash still needs its upgrade: keep the old key's fingerprint, so the next
        # request that can move the session checks it again (and ends it once no key
        # verifies it).
        rebuilt = dataclasses.replace(rebuilt, hash_key=upgraded.hash_key)
    shared_claims.publish(data, rebuilt)
    return Checked(data, rebuilt, Rebuilt(user, reason))


def claims_for(
    user: AbstractBaseUser, identity: SessionIdentity, state: State, now: int
) -> SessionIdentity:
    """``identity`` with claims built from ``user`` now.

    The mark version comes from ``state``, read *before* the claims are built, so a
    mark made while they are being built is newer than the one recorded and triggers
    another rebuild.
    """
    return identity.with_claims(build_claims(user), state.mark, now, hash_key_id())


def user_state(user: AbstractBaseUser) -> State:
    """The state a sign-in of ``user`` builds its claims against."""
    return read_state(user_id_string(user), None)
