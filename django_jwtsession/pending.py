"""Marks and revocations the cache has not seen yet: durable, and copied there by any process.

A writer (``revocation.bump()``) grows its ``StateEntry`` counters and sets their
``pending`` flag in its own transaction. On commit it copies the committed values to the
cache and clears the flags (:func:`copy_committed`). When it cannot — a process cut off
from Redis, Redis down or paused — the flags stay, and the write is not lost: every
process's mirror listener copies pending entries to the cache every ``REPLAY_SECONDS``
and before its mirror answers again after an outage (:func:`replay`), and where no
listener can run on Redis (Cluster, Sentinel) its replayer thread does
(``replayer.py``); the writer's own
process also retries after its next request (:func:`retry_unmirrored`). So a shell, a
task or a command that exits right after writing leaves no reader trusting a stale entry
for longer than that.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models import Q

from . import cache_access
from .conf import get_settings
from .keyspace import cache_keys, clustered, every_tag

if TYPE_CHECKING:
    from .models import StateEntry

logger = logging.getLogger("django_jwtsession")
REPLAY_BATCH = 500
"""Pending entries one replay copies (the next replay takes the rest)."""

_unmirrored: set[str] = set()
"""Keys this process could not copy to the cache: retried after each of its requests."""
_unmirrored_lock = threading.Lock()
if hasattr(os, "register_at_fork"):  # the mirror's listener may hold it at fork()
    os.register_at_fork(after_in_child=lambda: globals().update(_unmirrored_lock=threading.Lock()))


def entries() -> type[StateEntry]:
    """The ``StateEntry`` model, imported late: this module loads before the app registry."""
    from .models import StateEntry

    return StateEntry


def from_database(keys: list[str]) -> dict[str, int]:
    """The committed values of ``keys`` (0 for a key never written)."""
    found = dict(entries().objects.filter(key__in=keys).values_list("key", "version"))
    return {key: found.get(key, 0) for key in keys}


class Names(NamedTuple):
    """Where the cache keeps the state entries of a write (:func:`cache_names`)."""

    of: dict[str, list[str]]
    """The cache keys of each entry, to write its value under."""
    swept: list[str]
    """Cache keys to delete only: a session's entry under every tag (see :func:`cache_names`)."""


SWEEP_MAX = 8
"""Sessions with no record whose entries one write deletes under every tag (on a cluster)."""


def cache_names(keys: list[str]) -> Names:
    """The cache keys holding copies of each state entry in ``keys`` (``keyspace.cache_keys``).

    On a Redis Cluster a session's entry is named with its user's tag: the user is found in
    the session's records (one query, only there and only for session entries). A session
    no record names (a made-up or long-expired id, a record deleted by hand, a record whose
    write failed at sign-in) may still be cached under its user's tag: its entry is deleted
    under every tag instead (``swept``: 16384 keys per session, for the first ``SWEEP_MAX`` of
    one write; beyond that a cached "not revoked" expires within ``STATE_CACHE_TIMEOUT``).
    """
    hashes = [key[2:] for key in keys if key.startswith("s:")] if clustered() else []
    owners: dict[str, set[str]] = {}
    if hashes:
        from .models import SessionRecord

        found = SessionRecord.objects.filter(session_hash__in=hashes, user__isnull=False)
        for hashed, user_id in found.values_list("session_hash", "user_id"):
            owners.setdefault(hashed, set()).add(str(user_id))
    unknown = [f"s:{hashed}" for hashed in hashes if hashed not in owners]
    if len(unknown) > SWEEP_MAX:
        logger.warning(
            "jwtsession: %d revoked sessions have no record: the cached state of %d of them "
            "may say 'not revoked' for up to STATE_CACHE_TIMEOUT",
            len(unknown),
            len(unknown) - SWEEP_MAX,
        )
    swept = [name for key in unknown[:SWEEP_MAX] for name in every_tag(key)]
    of = {key: cache_keys(key, tuple(sorted(owners.get(key[2:], ())))) for key in keys}
    return Names(of, swept)


def copy_committed(
    keys: list[str],
    *,
    reachable: bool = True,
    gated: bool = True,
    names: Names | None = None,
) -> bool:
    """Copy the committed values of ``keys`` to the cache and clear their ``pending`` flags.

    ``names``: the cache keys of each entry when the caller has them (:func:`cache_names`).

    On failure (or when the writer already found the cache unreachable), the keys are
    remembered for this process's next request and the flags stay for any process's
    replay; the error is logged. True when copied. Not ``gated``: even while this process's
    listener has lost Redis (it is the listener catching up).
    """
    try:
        if not reachable:
            raise cache_access.Unreachable("the cache was unreachable when the change was made")
        values = from_database(keys)
        if names is None:
            names = cache_names(keys)
        timeout = get_settings().state_cache_timeout
        for _ in range(3):  # a concurrent writer may set an older value over a newer one:
            cache_access.store_many(  # re-read, and write again until the database agrees
                {name: value for key, value in values.items() for name in names.of[key]},
                timeout,
                gated=gated,
            )
            latest = from_database(keys)
            if latest == values:
                break
            values = latest
        cache_access.delete_many(names.swept)  # again: after any refill that raced the write
        _settle(values)
    except Exception:  # the write is safe in the database; the cache lags: say so, retry
        with _unmirrored_lock:
            _unmirrored.update(keys)
        logger.error(
            "jwtsession: a mark or revocation could not be copied to the cache; every process "
            "on Redis copies it within REPLAY_SECONDS, and this one after its "
            "next request",
            exc_info=True,
        )
        return False
    with _unmirrored_lock:
        _unmirrored.difference_update(keys)
    return True


def _settle(values: dict[str, int]) -> None:
    """Clear the flags of the entries whose copied version is still the latest."""
    pairs = [(key, version) for key, version in values.items() if version]
    for start in range(0, len(pairs), REPLAY_BATCH):
        condition = Q()
        for key, version in pairs[start : start + REPLAY_BATCH]:
            condition |= Q(key=key, version=version)
        entries().objects.filter(condition, pending=True).update(pending=False)


def retry_unmirrored(**kwargs: Any) -> bool:
    """Copy what an earlier copy in this process could not (cheap when none); True when
    nothing is left. Connected to ``request_finished``; commands may call it too."""
    if not _unmirrored:
        return True
    with _unmirrored_lock:
        keys = sorted(_unmirrored)
    copy_committed(keys)
    return not _unmirrored


def replay() -> int:
    """Copy up to ``REPLAY_BATCH`` pending entries, whoever wrote them; return how many.
    The mirror's listener runs it, also while catching up after losing Redis."""
    keys = list(
        entries()
        .objects.filter(pending=True)
        .order_by()
        .values_list("key", flat=True)[:REPLAY_BATCH]
    )
    if keys:
        copy_committed(keys, gated=False)
    return len(keys)
