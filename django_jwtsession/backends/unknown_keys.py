"""Session ids a db key named and no session had, remembered in this process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class UnknownKeys:
    """Session ids looked up lately and not found, remembered in this process (bounded,
    least recently used out first): a flood of one made-up key costs one query, and
    nobody can make the server write to the shared cache by making keys up. A secret no
    session has now never will (secrets are made here)."""

    SECONDS = 300.0
    MAX = 10_000

    def __init__(self) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, session_id: str) -> bool:
        with self._lock:
            until = self._until.get(session_id)
            if until is None:
                return False
            if until < time.monotonic():
                del self._until[session_id]
                return False
            self._until.move_to_end(session_id)
            return True

    def add(self, session_id: str) -> None:
        with self._lock:
            self._until[session_id] = time.monotonic() + self.SECONDS
            self._until.move_to_end(session_id)
            while len(self._until) > self.MAX:
                self._until.popitem(last=False)

    def discard(self, session_id: str) -> None:
        with self._lock:
            self._until.pop(session_id, None)


UNKNOWN = UnknownKeys()
