"""Per-process memos of pure parses on the hot path: a cookie seen before is not parsed again.

A client sends the same session cookie on every request until it is re-issued, so the
work that depends only on the cookie's bytes (verifying a token's signature, parsing its
JSON and identity; parsing a db session's stored entry) is done once per cookie and
process, then looked up. What depends on the moment is never memoized: a token's times
are checked again on every request, and the state check (revocation, marks) runs as before.

Soundness: an entry is keyed by the exact bytes that were verified (a token) or read from
our own cache (a db session's stored entry), and stores only what a successful parse of
those bytes returned, so a hit answers exactly what a parse would. Entries are dropped when
settings change (keys, algorithm, issuer, audience, lifetimes: ``derived.register_reset``).
Session data is handed out as a fresh dict on every hit, so a view that changes its session
never changes the memo: a shallow copy when every value is a scalar, a fresh parse otherwise.
Claims whose ``extra`` mapping is set are not memoized (a dict a view could change).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from .derived import register_reset

_V = TypeVar("_V")
_SCALARS = frozenset({str, int, float, bool, type(None)})


class Memo(Generic[_V]):
    """A bounded mapping (oldest entry out first), safe across threads, emptied when
    settings change."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[Hashable, _V] = {}
        self._lock = threading.Lock()
        register_reset(self.clear)

    def get(self, key: Hashable) -> _V | None:
        return self._entries.get(key)

    def put(self, key: Hashable, value: _V) -> None:
        with self._lock:
            entries = self._entries
            if len(entries) >= self._size:
                del entries[next(iter(entries))]  # the oldest: FIFO keeps a hit lock-free
            entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def flat(data: dict[str, Any]) -> bool:
    """Whether every value of ``data`` is a scalar (a shallow copy is then a full one)."""
    return all(type(value) in _SCALARS for value in data.values())
