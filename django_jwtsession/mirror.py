"""The pushed mirror: this process's copy of the cache entries it read, kept current by Redis.

The listener (:mod:`~django_jwtsession.listener`) fills in the status and evicts what
Redis says changed; readers (:mod:`~django_jwtsession.cache_access`) ask :meth:`Mirror.mode`
whether the mirror may answer, look entries up, and insert what a round trip found.

An insert never races an invalidation: a reader takes a :meth:`~Mirror.ticket` before
its round trip, every invalidation stamps its keys with a newer number, and an entry is
inserted only if its key was not stamped after the ticket (nor the mirror cleared).
Entries expire after ``STATE_CACHE_TIMEOUT`` at the latest; the least recently used go
first beyond ``MIRROR_MAX_ENTRIES``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

SERVING = "serving"
"""The listener heard from Redis within the health bound: the mirror answers."""
ROUND_TRIP = "round_trip"
"""No listener (mirror off, not started yet): the cache answers, as without a mirror."""
DOWN = "down"
"""The listener lost Redis (or was not heard from in time): Redis is not asked at all."""

STAMPS_MAX = 100_000
"""Invalidation stamps kept; forgetting one refuses the inserts of older reads."""


class Mirror:
    """Entries by cache key, with the status the listener keeps (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._derived: OrderedDict[Hashable, tuple[int, float, Sequence[str], Any]] = OrderedDict()
        self._stamps: OrderedDict[str, int] = OrderedDict()
        self._seq = 0
        self._floor = 0
        self.max_entries = 50_000
        self.ttl = 3600.0
        self.health = 1.0
        self.ready = False
        """Tracking on, subscribed and caught up (set by the listener)."""
        self.lost = False
        """The listener lost Redis: until it is ready again, Redis is not asked."""
        self.heard = 0.0
        """When the listener last heard from Redis (``time.monotonic()``)."""

    def configure(self, *, max_entries: int, ttl: float, health: float) -> None:
        self.max_entries, self.ttl, self.health = max_entries, ttl, health

    def mode(self) -> str:
        """``SERVING``, ``ROUND_TRIP`` or ``DOWN`` (module constants), right now."""
        if self.ready:
            return SERVING if time.monotonic() - self.heard < self.health else DOWN
        return DOWN if self.lost else ROUND_TRIP

    def ticket(self) -> int:
        """Take before a round trip whose answers :meth:`insert` will add."""
        return self._seq

    def lookup(self, keys: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
        """The live entries among ``keys``, and the keys it lacks."""
        now = time.monotonic()
        found: dict[str, Any] = {}
        missing: list[str] = []
        with self._lock:
            entries = self._entries
            for key in keys:
                entry = entries.get(key)
                if entry is None or entry[0] <= now:
                    missing.append(key)
                else:
                    entries.move_to_end(key)
                    found[key] = entry[1]
        return found, missing

    def insert(self, values: dict[str, Any], ticket: int, ttl: float | None = None) -> int:
        """Add what a round trip that began at ``ticket`` found; return how many were added.

        A key invalidated since the ticket is left out (its value may be older than the
        invalidation), and so is everything after a clear or while the mirror is not ready.
        """
        expires = time.monotonic() + (self.ttl if ttl is None else min(ttl, self.ttl))
        added = 0
        with self._lock:
            if ticket < self._floor or not self.ready:
                return 0
            stamps, entries = self._stamps, self._entries
            for key, value in values.items():
                if stamps.get(key, 0) > ticket:
                    continue
                entries[key] = (expires, value)
                entries.move_to_end(key)
                added += 1
            while len(entries) > self.max_entries:
                entries.popitem(last=False)
        return added

    def remember(self, name: Hashable, value: Any, keys: Sequence[str], ticket: int) -> None:
        """Keep ``value``, computed from the entries ``keys`` as read since ``ticket``, for
        :meth:`recall` while none of them changes (and none expires)."""
        with self._lock:
            if ticket < self._floor or not self.ready:
                return
            expires = float("inf")
            for key in keys:
                entry = self._entries.get(key)
                if entry is None or self._stamps.get(key, 0) > ticket:
                    return  # not all from the mirror, or changed meanwhile
                expires = min(expires, entry[0])
            self._derived[name] = (ticket, expires, keys, value)
            self._derived.move_to_end(name)
            while len(self._derived) > self.max_entries:
                self._derived.popitem(last=False)

    def recall(self, name: Hashable) -> Any:
        """What :meth:`remember` kept under ``name``, if the mirror serves and none of its
        entries changed or expired since; else None. No lock: reads only."""
        kept = self._derived.get(name)
        if kept is None:
            return None
        ticket, expires, keys, value = kept
        if ticket < self._floor or not self.ready:
            return None
        now = time.monotonic()
        if now >= expires or now - self.heard >= self.health:
            return None
        stamps = self._stamps
        for key in keys:
            if stamps.get(key, 0) > ticket:
                return None
        return value

    def invalidate(self, keys: Iterable[str]) -> None:
        """Drop ``keys``: Redis said they changed, or this process writes them."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            entries, stamps = self._entries, self._stamps
            for key in keys:
                entries.pop(key, None)
                stamps[key] = seq
                stamps.move_to_end(key)
            while len(stamps) > STAMPS_MAX:
                _, forgotten = stamps.popitem(last=False)
                self._floor = max(self._floor, forgotten)

    def clear(self) -> None:
        """Drop everything (a flush, a reconnect): reads begun before insert nothing."""
        with self._lock:
            self._seq += 1
            self._floor = self._seq
            self._entries.clear()
            self._stamps.clear()
            self._derived.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def reset(self) -> None:
        """A stopped listener: empty, not serving."""
        self.ready = self.lost = False
        self.heard = 0.0
        self.clear()

    def after_fork(self) -> None:
        """A new process: another thread may have held the lock when it forked."""
        self._lock = threading.Lock()
        self.reset()


MIRROR = Mirror()
"""This process's mirror."""

if hasattr(os, "register_at_fork"):  # not on Windows, where processes are never forked
    os.register_at_fork(after_in_child=MIRROR.after_fork)
