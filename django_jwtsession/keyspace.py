"""The names this app gives to what it keeps: state entries, cached sessions, hashes.

Every key written to the cache or to ``StateEntry`` is built here, so the state
check, the writers, the records and the db strategy agree on one spelling.

State entries (``StateEntry.key``, and in the cache under :data:`CACHE_PREFIX`):

====================  ===========================================================
``u:<user id>:m``     the user's mark version (older claims are stale)
``u:<user id>:r``     the user's revocation epoch (older sessions are over)
``g:r``               the global revocation epoch (``revoke_all``)
``s:<session hash>``  1 once that session is revoked
====================  ===========================================================
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import caches

from .conf import get_settings

CACHE_PREFIX = "jwtsession:"
GLOBAL_EPOCH = "g:r"


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
    keys = [mark_key(user_id), epoch_key(user_id), GLOBAL_EPOCH]
    if session_id is not None:
        keys.append(session_key(session_id))
    return keys


STORED_KINDS = ("db", "spill")
"""Sessions kept in their record: the db strategy's, and jwt sessions too large for a token."""


def stored_session_key(hashed: str, kind: str = "db") -> str:
    """The cache key of a session kept in its record (``kind``: see STORED_KINDS)."""
    return f"{CACHE_PREFIX}{kind}:{hashed}"


def cache() -> Any:
    """The cache named by ``JWTSESSION["CACHE_ALIAS"]``."""
    return caches[get_settings().cache_alias]
