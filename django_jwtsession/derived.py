"""Values derived from settings, cached until settings change.

Nothing is read at import time. Every value derived from settings is cached with
:func:`derived`, and one ``setting_changed`` receiver (connected in ``apps.py``)
calls :func:`clear_derived`, so ``override_settings`` just works.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])
_derived: list[Callable[[], None]] = []


def derived(func: _F) -> _F:
    """Cache ``func`` (no arguments or hashable ones) until settings change."""
    cached = functools.cache(func)
    _derived.append(cached.cache_clear)
    return cached  # type: ignore[return-value]


def register_reset(clear: Callable[[], None]) -> None:
    """Have ``clear`` called whenever settings change (for derived state that is not a cache)."""
    _derived.append(clear)


def clear_derived(**kwargs: Any) -> None:
    """``setting_changed`` receiver: forget everything derived from settings."""
    for clear in _derived:
        clear()
