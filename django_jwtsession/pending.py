"""Marks and revocations the cache has not seen yet: durable, and copied there by any process.

A writer (``revocation.bump()``) grows its ``StateEntry`` counters and sets their
``pending`` flag in its own transaction. On commit it copies the committed values to the
cache and clears the flags (:func:`copy_committed`). When it cannot — a process cut off
from Redis, Redis down or paused — the flags stay, and the write is not lost: every
process's mirror listener copies pending entries to the cache every ``REPLAY_SECONDS``
and before its mirror answers again after an outage (:func:`replay`); the writer's own
process also retries after its next request (:func:`retry_unmirrored`). So a shell, a
task or a command that exits right after writing leaves no reader trusting a stale entry
for longer than that.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from . import cache_access
from .conf import get_settings
from .keyspace import CACHE_PREFIX

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


def copy_committed(keys: list[str], *, reachable: bool = True, gated: bool = True) -> bool:
    """Copy the committed values of ``keys`` to the cache and clear their ``pending`` flags.

    On failure (or when the writer already found the cache unreachable), the keys are
    remembered for this process's next request and the flags stay for any process's
    replay; the error is logged. True when copied. Not ``gated``: even while this process's
    listener has lost Redis (it is the listener catching up).
    """
    try:
        if not reachable:
            raise cache_access.Unreachable("the cache was unreachable when the change was made")
        values = from_database(keys)
        timeout = get_settings().state_cache_timeout
        for _ in range(3):  # a concurrent writer may set an older value over a newer one:
            cache_access.store_many(  # re-read, and write again until the database agrees
                {CACHE_PREFIX + key: value for key, value in values.items()}, timeout, gated=gated
            )
            latest = from_database(keys)
            if latest == values:
                break
            values = latest
        _settle(values)
    except Exception:  # the write is safe in the database; the cache lags: say so, retry
        with _unmirrored_lock:
            _unmirrored.update(keys)
        logger.error(
            "jwtsession: a mark or revocation could not be copied to the cache; every process "
            "with a mirror listener copies it within REPLAY_SECONDS, and this one after its "
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
