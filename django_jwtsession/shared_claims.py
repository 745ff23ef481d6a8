"""Claims rebuilt once per (user, mark version), shared by every session of that user.

After a mark, or once ``CLAIMS_TTL`` has passed, the first request of one of the user's
sessions rebuilds the claims from the database (Django's ``get_user()`` checks included)
and publishes them in the cache under ``jwtsession:c:{t}:<user id>:<mark version>`` (hence in
every process's mirror) for ``CLAIMS_TTL``. The next request of any session of that user
— or of a client replaying its pre-mark cookie — takes them with no SQL, but only if they
hold for *that* session (:func:`adopt`):

- built against the mark version its state check just read, at most ``CLAIMS_TTL`` ago,
  and not before the session started;
- for the same session auth hash (the entry carries the user's hash as the rebuild
  verified it, so a session whose password changed never takes them), the same
  authentication backend (still in ``AUTHENTICATION_BACKENDS``) and the same
  ``SECRET_KEY`` (``hash_key_id``);
- signed with an HMAC of ``SECRET_KEY``: an entry written by anyone else is ignored.

Claims depend on the user only; what ends a session is checked elsewhere and first: a
revoked session (a password change or a deleted user revokes every session of the user)
never gets this far, and a user made inactive is marked, so the new mark version has no
entry until a rebuild — which ends the session instead of publishing.

Concurrent rebuilds of one user's claims in one process are single-flight
(:func:`single_flight`): the first rebuilds, the others wait for it, then take its entry.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare, salted_hmac

from . import cache_access
from .claims import Claims
from .conf import get_settings
from .identity import SessionIdentity
from .keyspace import claims_key
from .refresh import hash_key_id

logger = logging.getLogger("django_jwtsession")
SHAREABLE = frozenset({"mark", "ttl"})
"""The reasons to rebuild that another session's rebuild can answer."""
FLIGHT_WAIT = 2.0
"""The longest a request waits for another one of its process rebuilding the same claims."""
_SALT = "django_jwtsession.shared_claims"


def entry_key(user_id: str, mark: int) -> str:
    return claims_key(user_id, mark)


def _signature(entry: dict[str, Any]) -> str:
    fields = {name: value for name, value in entry.items() if name != "sig"}
    message = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return salted_hmac(_SALT, message, algorithm="sha256").hexdigest()


def publish(data: dict[str, Any], identity: SessionIdentity) -> None:
    """Share claims just rebuilt (and verified) for ``data``'s session with the user's others."""
    claims, built, ttl = identity.claims, identity.claims_at, get_settings().claims_ttl
    if claims is None or built is None or not ttl:
        return
    entry = {
        "clm": claims.to_dict(),
        "cat": built,
        "mv": identity.mark_seen,
        "hk": identity.hash_key,
        "ah": data.get(HASH_SESSION_KEY),
        "be": data.get(BACKEND_SESSION_KEY),
    }
    entry["sig"] = _signature(entry)
    try:
        cache_access.store(entry_key(claims.user_id, identity.mark_seen), entry, ttl)
    except cache_access.Unreachable:
        logger.info("jwtsession: rebuilt claims not shared: the cache is unreachable")


def take(
    data: dict[str, Any], identity: SessionIdentity, mark: int, reason: str, now: int
) -> SessionIdentity | None:
    """``identity`` with the claims another request rebuilt for this user, when they hold
    for this session; None when there are none (then it rebuilds them itself)."""
    key = entry_key(str(data[SESSION_KEY]), mark)
    try:
        entry = cache_access.read([key]).get(key)
    except cache_access.Unreachable:
        return None
    return None if entry is None else adopt(entry, data, identity, mark, reason, now)


def adopt(
    entry: Any, data: dict[str, Any], identity: SessionIdentity, mark: int, reason: str, now: int
) -> SessionIdentity | None:
    """The checks of the module docstring; the new identity, or None."""
    if type(entry) is not dict or not isinstance(entry.get("sig"), str):
        return None
    if not constant_time_compare(entry["sig"], _signature(entry)):
        return None
    built = entry.get("cat")
    if type(built) is not int or not identity.started <= built <= now:
        return None
    if now - built >= get_settings().claims_ttl or entry.get("mv") != mark:
        return None
    if reason == "ttl" and identity.claims_at is not None and built <= identity.claims_at:
        return None  # no newer than what the session has
    backend, session_hash = data.get(BACKEND_SESSION_KEY), data.get(HASH_SESSION_KEY)
    if entry.get("be") != backend or backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    user_hash = entry.get("ah")
    if not (isinstance(user_hash, str) and isinstance(session_hash, str) and session_hash):
        return None
    if not constant_time_compare(user_hash, session_hash) or entry.get("hk") != hash_key_id():
        return None
    try:  # a copy: the mirror hands every request the same entry
        claims = Claims.from_dict(copy.deepcopy(entry["clm"]))
    except (ValueError, TypeError, KeyError):
        return None
    if claims.user_id != data.get(SESSION_KEY):
        return None
    return identity.with_claims(claims, mark, built, hash_key_id())


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.followers = 0


_flights: dict[str, _Flight] = {}
_flights_lock = threading.Lock()


@contextmanager
def single_flight(user_id: str, mark: int) -> Iterator[bool]:
    """One rebuild of a user's claims at a time in this process: yields True to the request
    that rebuilds; another one waits until that one is done (at most ``FLIGHT_WAIT``
    seconds), then gets False and takes the published claims (or rebuilds, if none)."""
    key = entry_key(user_id, mark)
    with _flights_lock:
        flight = _flights.get(key)
        leader = flight is None
        if flight is None:
            flight = _flights[key] = _Flight()
        else:
            flight.followers += 1
    if not leader:
        flight.done.wait(FLIGHT_WAIT)
        yield False
        return
    try:
        yield True
    finally:
        with _flights_lock:
            _flights.pop(key, None)
        flight.done.set()
