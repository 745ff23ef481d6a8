"""Refused sessions, logged without flooding the log.

A refusal is logged at ``INFO`` on the ``django_jwtsession`` logger (the token itself
never), at most once per reason every :data:`INTERVAL` seconds in a process; the line
says how many refusals of that reason it stands for. The counters
(``decode.<reason>``) count every one.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("django_jwtsession")
INTERVAL = 10.0
_lock = threading.Lock()
_last: dict[str, float] = {}
_unlogged: dict[str, int] = {}


def note(reason: str) -> None:
    """Log a refusal of ``reason``, unless one was logged less than INTERVAL ago."""
    now = time.monotonic()
    with _lock:
        if now - _last.get(reason, -INTERVAL) < INTERVAL:
            _unlogged[reason] = _unlogged.get(reason, 0) + 1
            return
        _last[reason] = now
        more = _unlogged.pop(reason, 0)
    if more:
        logger.info("Session refused: %s (and %d more since the last line)", reason, more)
    else:
        logger.info("Session refused: %s", reason)


def reset() -> None:
    """Forget what was logged (for tests)."""
    with _lock:
        _last.clear()
        _unlogged.clear()
