"""The pushed mirror's settings (``JWTSESSION`` keys), validated apart from :mod:`conf`.

``conf.get_settings()`` holds them resolved (``mirror``, ``mirror_health_seconds``, …);
``docs/settings.md`` documents each key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    "MIRROR": True,
    "MIRROR_HEALTH_SECONDS": 1.0,
    "MIRROR_MAX_ENTRIES": 50_000,
    "CACHE_SOCKET_TIMEOUT": 0.5,
    "REPLAY_SECONDS": 2.0,
}


def _number(raw: Mapping[str, Any], name: str, *, positive: bool) -> float:
    value = raw.get(name, DEFAULTS[name])
    if type(value) not in (int, float) or value != value or value < 0 or (positive and not value):
        bound = "> 0" if positive else ">= 0"
        raise ImproperlyConfigured(f"JWTSESSION[{name!r}] must be a number {bound}, got {value!r}.")
    return float(value)


def mirror_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve and validate the mirror's keys of the raw ``JWTSESSION`` dict: the fields of
    ``JWTSessionSettings`` they set."""
    enabled = raw.get("MIRROR", DEFAULTS["MIRROR"])
    if type(enabled) is not bool:
        raise ImproperlyConfigured("JWTSESSION['MIRROR'] must be True or False.")
    max_entries = raw.get("MIRROR_MAX_ENTRIES", DEFAULTS["MIRROR_MAX_ENTRIES"])
    if type(max_entries) is not int or max_entries < 1:
        raise ImproperlyConfigured(
            f"JWTSESSION['MIRROR_MAX_ENTRIES'] must be an integer >= 1, got {max_entries!r}."
        )
    return {
        "mirror": enabled,
        "mirror_health_seconds": _number(raw, "MIRROR_HEALTH_SECONDS", positive=True),
        "mirror_max_entries": max_entries,
        "cache_socket_timeout": _number(raw, "CACHE_SOCKET_TIMEOUT", positive=True),
        "replay_seconds": _number(raw, "REPLAY_SECONDS", positive=False),
    }
