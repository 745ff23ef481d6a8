"""What a strategy stores and how: the interface between a store and its storage.

A store (:class:`~django_jwtsession.backends.base.ClaimsSessionBase`) keeps
Django's session API, the claims' freshness and the revocation rules; its storage
(a token, or a table row mirrored in the cache) only reads and writes. A read
gives a :class:`Loaded`: the data, the :class:`~django_jwtsession.identity.SessionIdentity`
and, when the storage could make the state check in the same round trip, its
answer. A storage instance belongs to one store (the db storage remembers the
secret behind its session id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..identity import SessionIdentity
from ..state import State


class SessionEnded(Exception):
    """The session is over (revoked, expired, its user gone): the request is anonymous
    and the cookie goes. ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NeedsNewId(Exception):
    """The storage can write this session only under a new session id (one it derives
    itself): the store moves the session to a new id and writes again."""


@dataclass(frozen=True)
class Origin:
    """Where a taken-over session came from, to end it once its successor is saved."""

    kind: str
    """A strategy name or a Django session engine path (``ACCEPT_FROM``)."""
    session_id: str | None = None
    """Our strategies: the old session id, revoked once taken over."""
    store: Any = None
    """Django's engines: the old store, whose session is deleted once taken over."""


class Loaded(NamedTuple):
    """A verified session as read: nothing is decided about it yet."""

    data: dict[str, Any]
    identity: SessionIdentity
    issued_at: int
    """When it was last written (``iat``): ``UPDATE_AGE`` after that, it is re-issued."""
    stale_key: bool = False
    """A rotated-out key verified it: re-issue under the current key."""
    state: State | None = None
    """The state check, when the storage made it with its read."""
    origin: Origin | None = None
    """Set when the session is of another kind, to be taken over (``ACCEPT_FROM``)."""


class SaveOptions(NamedTuple):
    """How a store asks its storage to write a session."""

    client_meta: Mapping[str, Any] | None
    """The request's ``META`` (IP, user agent) for the session record."""
    record_due: bool
    """Signed in, refreshed, re-issued or given a new expiry: write the record."""
    must_create: bool
    """Django's ``save(must_create=True)``: a new session, never an update."""


class Storage:
    """Reads and writes one strategy's sessions; see the module docstring."""

    strategy = ""
    """The strategy's name, as written in session records."""

    def recognizes(self, key: str) -> bool:
        """Whether ``key`` has this storage's cookie format (else: perhaps another kind)."""
        raise NotImplementedError

    def read(self, key: str, now: int) -> Loaded:
        """Verify and read ``key``; raise ``TokenError`` (refused) or ``StateUnavailable``."""
        raise NotImplementedError

    def new_session_id(self) -> str:
        """A fresh session id (and whatever the storage keeps beside it)."""
        raise NotImplementedError

    def key_for(self, payload: dict[str, Any]) -> str:
        """The cookie value ``payload`` will be stored under (nothing is written)."""
        raise NotImplementedError

    def write(self, payload: dict[str, Any], options: SaveOptions) -> str:
        """Store ``payload`` (identity, ``iat``, ``exp``, ``dat``); return the cookie value.

        Raises ``SessionEnded`` when the session was revoked meanwhile (it is not saved),
        and Django's ``UpdateError`` when it was deleted meanwhile.
        """
        raise NotImplementedError

    def discard(
        self, session_id: str, *, signed_in: bool, reason: str = "revoked", by: str | None = None
    ) -> None:
        """End a session this storage holds (``delete()``, ``cycle_key()``); a signed-in one
        is revoked, ``reason`` and ``by`` (a user id) going to its history."""
        raise NotImplementedError

    def peek(self, key: str) -> tuple[str, bool] | None:
        """``(session_id, signed_in)`` of a stored session, without the state check;
        None when ``key`` names no session (``delete(key)`` of an unloaded store)."""
        raise NotImplementedError

    def exists(self, key: str | None) -> bool:
        raise NotImplementedError
