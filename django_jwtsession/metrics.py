"""Counters: decodes, state checks, refreshes, revocations.

``count()`` only adds to an in-process buffer (dicts under a lock). The buffer
reaches the cache (``CACHE_ALIAS``) at the end of a request once
``METRICS_FLUSH_SECONDS`` have passed, twice: as per-minute buckets that every process
increments, kept for eight days (``totals()`` and ``series()`` read them back in one
``get_many``), and as running totals since the cache first held them, per strategy
where one applies (``running_totals()``: what Prometheus scrapes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from django.core.cache import caches

from . import exceptions
from .conf import get_settings
from .mirror import DOWN, MIRROR
from .outage import cache_failed
from .redis_link import link

logger = logging.getLogger("django_jwtsession")
KEY_PREFIX = "jwtsession:metrics:"
BUCKET_TIMEOUT = 8 * 24 * 3600
"""Seconds a per-minute bucket is kept in the cache."""
RETENTION_MINUTES = BUCKET_TIMEOUT // 60


def _decode_reasons() -> tuple[str, ...]:
    """Every ``TokenError.reason`` in ``exceptions.py``: subclasses first, the base last."""
    classes = [
        value
        for value in vars(exceptions).values()
        if isinstance(value, type) and issubclass(value, exceptions.TokenError)
    ]
    classes.sort(key=lambda cls: cls is exceptions.TokenError)
    return tuple(dict.fromkeys(cls.reason for cls in classes))


DECODE_NAMES = ("decode.ok", *(f"decode.{reason}" for reason in _decode_reasons()))
STATE_NAMES = (
    "state.hit",
    "state.miss",
    "state.fallback",
    "state.memo",
    "state.refused",
    "state.revoked",
)
REFRESH_NAMES = (
    "refresh.login",
    "refresh.ttl",
    "refresh.mark",
    "refresh.key",
    "refresh.forced",
    "refresh.shared",
)
REVOKE_NAMES = ("revoke.session", "revoke.user", "revoke.all")
STORE_NAMES = ("store.spill",)
"""``store.spill``: a jwt session too large for a token, stored in its record instead."""
MIRROR_NAMES = (
    "mirror.hits",
    "mirror.misses",
    "mirror.invalidations",
    "mirror.flushes",
    "mirror.reconnects",
    "mirror.degraded_ms",
)
NAMES = (
    *DECODE_NAMES,
    *STATE_NAMES,
    *REFRESH_NAMES,
    *REVOKE_NAMES,
    *STORE_NAMES,
    *MIRROR_NAMES,
)
_KNOWN = frozenset(NAMES)
STRATEGIES = ("jwt", "db")
PER_STRATEGY_NAMES = (*DECODE_NAMES, *REFRESH_NAMES, "state.revoked", *STORE_NAMES)
"""The counters a session store counts: their running totals are kept per strategy."""
_PER_STRATEGY = frozenset(PER_STRATEGY_NAMES)
RUNNING_TOTALS: tuple[tuple[str, str | None], ...] = tuple(
    (name, strategy)
    for name in NAMES
    for strategy in (STRATEGIES if name in _PER_STRATEGY else (None,))
)
"""Every running total: (counter, strategy), the strategy None for the others."""

_lock = threading.Lock()
_delivering = threading.Lock()
"""Held for a whole flush: one delivery at a time, so a flush waits for one in progress."""
if hasattr(os, "register_at_fork"):  # a thread (the mirror's listener) may hold it at fork()
    os.register_at_fork(
        after_in_child=lambda: globals().update(
            _lock=threading.Lock(), _delivering=threading.Lock()
        )
    )
_buffer: Counter[str] = Counter()  # counter name -> count, for the per-minute buckets
_running: Counter[tuple[str, str | None]] = Counter()  # (name, strategy) -> count
_last_flush = time.monotonic()


def count(name: str, amount: int = 1, *, strategy: str | None = None) -> None:
    """Add ``amount`` to counter ``name`` (one of ``NAMES``) in this process: no I/O.

    A session store passes its ``strategy`` for ``PER_STRATEGY_NAMES``; without it
    the count reaches the per-minute buckets but no running total.
    """
    if name not in _KNOWN:  # never let a counter break a request: note it, count nothing
        logger.debug("jwtsession: unknown metric %r ignored", name)
        return
    running: tuple[str, str | None] | None = (name, None)
    if name in _PER_STRATEGY:
        running = (name, strategy) if strategy in STRATEGIES else None
        if running is None:
            logger.debug("jwtsession: metric %r counted without a strategy", name)
    with _lock:
        _buffer[name] += amount
        if running is not None:
            _running[running] += amount


def reset() -> None:
    """Forget this process's buffered counts and restart the flush clock (for tests)."""
    global _last_flush
    with _lock:
        _buffer.clear()
        _running.clear()
        _last_flush = time.monotonic()


def bucket_key(minute: int, name: str) -> str:
    """The cache key of counter ``name`` for ``minute`` (Unix time // 60)."""
    return f"{KEY_PREFIX}{minute}:{name}"


def running_key(name: str, strategy: str | None) -> str:
    """The cache key of counter ``name``'s running total (for ``strategy``, if given)."""
    return f"{KEY_PREFIX}total:{name}" + ("" if strategy is None else f":{strategy}")


def _add(cache: Any, key: str, amount: int, timeout: int | None, **client: Any) -> None:
    try:
        cache.incr(key, amount, **client)
    except ValueError:  # no key yet: create it, or add to the one a racing process made
        if not cache.add(key, amount, timeout, **client):
            cache.incr(key, amount, **client)


def flush(*, now: float | None = None) -> None:
    """Add this process's buffered counts to the current minute's buckets and to the
    running totals (which never expire) in the cache.

    Never raises: when the cache fails, a warning is logged and the counts not yet
    delivered go back into the buffer for the next flush. Returns once every count made
    before the call is in the cache, even those another thread's flush is delivering (a
    scrape right after a request sees that request).
    """
    with _delivering:
        _flush(now)


def _flush(now: float | None) -> None:
    minute = int((time.time() if now is None else now) // 60)
    with _lock:
        writes: list[tuple[Counter[Any], Any, str, int | None, int]] = [
            (_buffer, name, bucket_key(minute, name), BUCKET_TIMEOUT, amount)
            for name, amount in _buffer.items()
            if amount
        ]
        writes += [
            (_running, total, running_key(*total), None, amount)
            for total, amount in _running.items()
            if amount
        ]
        _buffer.clear()
        _running.clear()
    if not writes:
        return
    delivered = 0
    try:
        cache = caches[get_settings().cache_alias]
        redis = link()  # with django-redis: bounded sockets, and no call while Redis is down
        if redis is not None and MIRROR.mode() == DOWN:
            raise ConnectionError("the mirror's listener lost Redis")
        client = {} if redis is None else {"client": redis.bounded}
        for _, _, key, timeout, amount in writes:
            _add(cache, key, amount, timeout, **client)
            delivered += 1
    except Exception as exc:  # metrics must never break a request
        cache_failed(exc, "the counts are kept in this process for the next flush")
        with _lock:
            for buffer, entry, _, _, amount in writes[delivered:]:
                buffer[entry] += amount


def flush_if_due(**kwargs: Any) -> None:
    """``request_finished`` receiver: flush once ``METRICS_FLUSH_SECONDS`` have passed."""
    global _last_flush
    try:
        interval = get_settings().metrics_flush_seconds
    except Exception as exc:  # invalid settings are reported where they are used
        logger.warning("jwtsession: metrics not flushed (%s)", exc)
        return
    now = time.monotonic()
    with _lock:
        if interval and now - _last_flush < interval:
            return
        _last_flush = now
    flush()


def series(minutes: int = 60, *, now: float | None = None) -> list[tuple[datetime, dict[str, int]]]:
    """Every counter per minute over the last ``minutes`` (this one included), oldest first.

    Each minute is given by its start (an aware UTC datetime), zeros included. Counts
    still buffered in processes are not seen until they flush. Cache errors propagate.
    """
    if minutes < 1:
        raise ValueError(f"minutes must be >= 1, got {minutes!r}.")
    current = int((time.time() if now is None else now) // 60)
    window = range(current - minutes + 1, current + 1)
    cache = caches[get_settings().cache_alias]
    found = cache.get_many([bucket_key(minute, name) for minute in window for name in NAMES])
    return [
        (
            datetime.fromtimestamp(minute * 60, tz=timezone.utc),
            {name: int(found.get(bucket_key(minute, name), 0)) for name in NAMES},
        )
        for minute in window
    ]


def totals(minutes: int = 60, *, now: float | None = None) -> dict[str, int]:
    """Every counter summed over the last ``minutes`` (zeros included)."""
    summed = dict.fromkeys(NAMES, 0)
    for _, counts in series(minutes, now=now):
        for name, value in counts.items():
            summed[name] += value
    return summed


def hit_rate(totals: dict[str, int]) -> float | None:
    """The state checks answered without the database (cache hit or memo), or None if none."""
    answered = totals.get("state.hit", 0) + totals.get("state.memo", 0)
    checks = answered + totals.get("state.miss", 0) + totals.get("state.fallback", 0)
    return answered / checks if checks else None


def running_totals() -> dict[tuple[str, str | None], int]:
    """Every running total (``RUNNING_TOTALS``, zeros included), summed over every
    process that flushed to the cache since it first held them. Counts still buffered
    in processes are not seen until they flush. Cache errors propagate."""
    cache = caches[get_settings().cache_alias]
    found = cache.get_many([running_key(*total) for total in RUNNING_TOTALS])
    return {total: int(found.get(running_key(*total), 0)) for total in RUNNING_TOTALS}
