"""The names this app gives to what it keeps: state entries, cached sessions, hashes.

Every key written to the cache or to ``StateEntry`` is built here, so the state
check, the writers, the records and the db strategy agree on one spelling.

State entries (``StateEntry.key``) and their names in the cache:

====================  ============================  ==========================================
``StateEntry.key``    cache key                     what it holds
====================  ============================  ==========================================
``u:<user id>:m``     ``jwtsession:u:{t}:<id>:m``   the user's mark version (older claims are
                                                    stale)
``u:<user id>:r``     ``jwtsession:u:{t}:<id>:r``   the user's revocation epoch (older sessions
                                                    are over)
``g:r``               ``jwtsession:g:r``; on a      the global revocation epoch
                      Redis Cluster one copy per    (``revoke_all``)
                      tag: ``jwtsession:g:r:{t}``
``s:<session hash>``  ``jwtsession:s:<hash>``; on   1 once that session is revoked
                      a Redis Cluster
                      ``jwtsession:s:{t}:<hash>``
====================  ============================  ==========================================

``{t}`` is the user's **tag** (:func:`tag`): ``{n}`` with ``n`` the CRC16 of the user id
modulo 16384 (the slot Redis Cluster would give the id itself). Redis Cluster hashes only
what is between the first ``{`` and ``}`` of a key, so every entry one state check reads —
the user's, and on a cluster the session's (named with its *user's* tag) and the global
epoch's copy under the same tag — lies in one hash slot, and the check stays one ``MGET``.
Other caches ignore the braces. A db session's cache entry carries its user's tag too
(``jwtsession:db:{t}:<hash>``), read in the same round trip; an anonymous one's has none.

Only the two entries that do not name a user take the tag on a cluster alone: elsewhere a
session's revocation is written under one name whether or not its user is known, and the
global epoch once. On a cluster the writers find a session's user in its record
(``pending.cache_names``).
"""

from __future__ import annotations

import binascii
import functools
import hashlib
from typing import Any

from django.core.cache import caches

from .conf import get_settings
from .derived import derived

CACHE_PREFIX = "jwtsession:"
GLOBAL_EPOCH = "g:r"
TAGS = 16384
"""How many tags user ids fall into: one global epoch copy per tag on a Redis Cluster."""


def session_hash(session_id: str) -> str:
    """What is stored about a session id: never the id itself (its public id)."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def mark_key(user_id: object) -> str:
    return f"u:{user_id}:m"


def epoch_key(user_id: object) -> str:
    return f"u:{user_id}:r"


def revoked_key(hashed: str) -> str:
    """The state entry that says a session (by its hash) is revoked."""
    return f"s:{hashed}"


def session_key(session_id: str) -> str:
    """The revoked-session state entry of a session id."""
    return revoked_key(session_hash(session_id))


def state_keys(user_id: str, session_id: str | None) -> list[str]:
    """The entries the state check reads for this user (and session), in a fixed order."""
    return state_entries(user_id, session_id)[0]


def tag(user_id: object) -> str:
    """The hash tag of a user's cache entries: ``{<CRC16 of the id> % 16384}``."""
    crc = binascii.crc_hqx(str(user_id).encode("utf-8", "surrogatepass"), 0)
    return f"{{{crc % TAGS}}}"


def state_entries(user_id: str, session_id: str | None) -> tuple[list[str], list[str]]:
    """The state check's entries (``StateEntry`` keys, in a fixed order) and their cache keys
    (same order): all in the user's hash slot on a Redis Cluster."""
    user_tag = tag(user_id)
    # On a cluster the global epoch and the session's flag are read in the user's slot.
    slot_tag = f":{user_tag}" if clustered() else ""
    keys = [f"u:{user_id}:m", f"u:{user_id}:r", GLOBAL_EPOCH]
    names = [
        f"{CACHE_PREFIX}u:{user_tag}:{user_id}:m",
        f"{CACHE_PREFIX}u:{user_tag}:{user_id}:r",
        f"{CACHE_PREFIX}{GLOBAL_EPOCH}{slot_tag}",
    ]
    if session_id is not None:
        hashed = session_hash(session_id)
        keys.append(f"s:{hashed}")
        names.append(f"{CACHE_PREFIX}s{slot_tag}:{hashed}")
    return keys, names


def cache_keys(key: str, owners: tuple[str, ...] = ()) -> list[str]:
    """Every cache key holding a copy of the state entry ``key`` (a ``StateEntry`` key).

    A user's entry has one; the global epoch one, or on a Redis Cluster one per tag; a
    session's one, or on a Redis Cluster one per ``owners`` (its user: see
    ``pending.cache_names``), none without.
    """
    if key == GLOBAL_EPOCH:
        return list(every_tag(GLOBAL_EPOCH)) if clustered() else [CACHE_PREFIX + GLOBAL_EPOCH]
    if key.startswith("u:"):
        return [f"{CACHE_PREFIX}u:{tag(key[2:-2])}:{key[2:]}"]
    if key.startswith("s:"):
        if not clustered():
            return [CACHE_PREFIX + key]
        return [f"{CACHE_PREFIX}s:{tag(owner)}:{key[2:]}" for owner in owners]
    raise ValueError(f"not a state entry: {key!r}")


@functools.cache
def _tags() -> tuple[str, ...]:
    return tuple(f"{{{n}}}" for n in range(TAGS))


def every_tag(key: str) -> list[str]:
    """The state entry ``key`` (the global epoch, a session's) under every tag: all the
    names a cluster may hold it under."""
    if key == GLOBAL_EPOCH:
        return [f"{CACHE_PREFIX}{GLOBAL_EPOCH}:{each}" for each in _tags()]
    kind, rest = key.split(":", 1)
    return [f"{CACHE_PREFIX}{kind}:{each}:{rest}" for each in _tags()]


STORED_KINDS = ("db", "spill")
"""Sessions kept in their record: the db strategy's, and jwt sessions too large for a token."""


def stored_session_key(hashed: str, kind: str = "db", user_id: object = None) -> str:
    """The cache key of a session kept in its record (``kind``: see STORED_KINDS), in its
    user's hash slot (none for an anonymous session)."""
    if user_id is None:
        return f"{CACHE_PREFIX}{kind}:{hashed}"
    return f"{CACHE_PREFIX}{kind}:{tag(user_id)}:{hashed}"


def claims_key(user_id: str, mark: int) -> str:
    """The cache key of claims rebuilt for a user at a mark version (``shared_claims``)."""
    return f"{CACHE_PREFIX}c:{tag(user_id)}:{user_id}:{mark}"


def cache() -> Any:
    """The cache named by ``JWTSESSION["CACHE_ALIAS"]``."""
    return caches[get_settings().cache_alias]


@derived
def clustered() -> bool:
    """Whether that cache is a Redis Cluster (``contrib.cluster.ClusterClient``)."""
    return bool(getattr(getattr(cache(), "client", None), "clustered", False))
