"""The pushed mirror's settings (``JWTSESSION`` keys): their defaults and readers.

``conf.get_settings()`` holds them resolved (``mirror``, ``mirror_health_seconds``, …);
``docs/settings.md`` documents each key.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import conf_values as read

DEFAULTS: dict[str, Any] = {
    "MIRROR": True,
    "MIRROR_HEALTH_SECONDS": 1.0,
    "MIRROR_MAX_ENTRIES": 50_000,
    "CACHE_SOCKET_TIMEOUT": 0.5,
    "REPLAY_SECONDS": 2.0,
}


def number(*, positive: bool) -> read.Reader:
    """A number of seconds (an int or a float, not NaN): > 0, or >= 0."""

    def reader(key: str, value: Any) -> float:
        if (
            type(value) not in (int, float)
            or value != value
            or value < 0
            or (positive and not value)
        ):
            bound = "> 0" if positive else ">= 0"
            raise ImproperlyConfigured(
                f"JWTSESSION[{key!r}] must be a number {bound}, got {value!r}."
            )
        return float(value)

    return reader


READERS: dict[str, read.Reader] = {
    "MIRROR": read.boolean,
    "MIRROR_HEALTH_SECONDS": number(positive=True),
    "MIRROR_MAX_ENTRIES": read.integer(minimum=1),
    "CACHE_SOCKET_TIMEOUT": number(positive=True),
    "REPLAY_SECONDS": number(positive=False),
}
