"""Log lines that repeat per request, without flooding the log.

A line of a given kind (a refusal's reason, a spilled session, …) is logged at most once
every :data:`INTERVAL` seconds in a process; the next one says how many it stands for.
The counters count every one.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

logger = logging.getLogger("django_jwtsession")
INTERVAL = 10.0
_lock = threading.Lock()
_last: dict[str, float] = {}
_unlogged: dict[str, int] = {}


def _due(kind: str) -> int | None:
    """How many lines of ``kind`` went unlogged, or None when this one is not due either."""
    now = time.monotonic()
    with _lock:
        if now - _last.get(kind, -INTERVAL) < INTERVAL:
            _unlogged[kind] = _unlogged.get(kind, 0) + 1
            return None
        _last[kind] = now
        return _unlogged.pop(kind, 0)


def _log(level: int, kind: str, message: str, *args: Any) -> None:
    more = _due(kind)
    if more is None:
        return
    if more:
        logger.log(level, message + " (and %d more since the last line)", *args, more)
    else:
        logger.log(level, message, *args)


def info(kind: str, message: str, *args: Any) -> None:
    _log(logging.INFO, kind, message, *args)


def warning(kind: str, message: str, *args: Any) -> None:
    _log(logging.WARNING, kind, message, *args)


def refused(reason: str) -> None:
    """A refused session (a ``TokenError.reason``); the token itself is never logged."""
    info(f"refused:{reason}", "Session refused: %s", reason)


def reset() -> None:
    """Forget what was logged (for tests)."""
    with _lock:
        _last.clear()
        _unlogged.clear()
