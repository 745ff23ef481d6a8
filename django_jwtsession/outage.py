"""Cache outages, logged once each: one line when the cache stops answering, one when it
answers again, nothing per request in between (tracebacks only at DEBUG).

What each request did meanwhile is counted in the metrics (``state.fallback``: read the
database; ``state.refused``: refused, with ``ON_CACHE_OUTAGE = "refuse"``), per process.
"""

from __future__ import annotations

import logging
import threading
import time

from .conf import get_settings

logger = logging.getLogger("django_jwtsession")

_lock = threading.Lock()
_down: dict[str, tuple[float, int]] = {}
"""Cache alias -> (since when, per ``time.monotonic()``; operations failed since)."""


def cache_failed(error: BaseException, consequence: str) -> None:
    """A cache operation failed; ``consequence`` says what is done instead (for the log).

    A wrapped error (``cache_access.Unreachable``) is logged as what the client raised."""
    shown = error.__cause__ if error.__cause__ is not None else error
    alias = get_settings().cache_alias
    with _lock:
        since, failures = _down.get(alias, (time.monotonic(), 0))
        _down[alias] = (since, failures + 1)
    if failures == 0:
        logger.error(
            "jwtsession: the cache %r is unreachable (%s: %s): %s. Logged once until it "
            "answers again; the requests meanwhile are counted in the metrics "
            "(state.fallback, state.refused).",
            alias,
            type(shown).__name__,
            shown,
            consequence,
        )
    else:
        logger.debug(
            "jwtsession: cache %r still unreachable: %s", alias, consequence, exc_info=True
        )


def cache_answered() -> None:
    """A cache operation succeeded: if an outage was logged, log its end (cheap otherwise)."""
    if not _down:
        return
    alias = get_settings().cache_alias
    with _lock:
        ended = _down.pop(alias, None)
    if ended is not None:
        since, failures = ended
        logger.warning(
            "jwtsession: the cache %r answers again after %.0f s (%d operations failed meanwhile).",
            alias,
            time.monotonic() - since,
            failures,
        )


def is_down() -> bool:
    """Whether this process saw the cache fail since it last answered."""
    return bool(_down)


def reset() -> None:
    """Forget any outage (for tests)."""
    with _lock:
        _down.clear()
