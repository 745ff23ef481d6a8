"""The session policies' settings (``JWTSESSION`` keys): session limits and history retention.

``conf.get_settings()`` holds them resolved (``session_limit``, ``session_limit_policy``,
``history_retention``); ``docs/settings.md`` documents each key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import conf_values as read

LIMIT_POLICIES = ("evict_oldest", "deny")

DEFAULTS: dict[str, Any] = {
    "SESSION_LIMIT": None,
    "SESSION_LIMIT_POLICY": "evict_oldest",
    "HISTORY_RETENTION": 30 * 24 * 3600,
}


@dataclass(frozen=True)
class SessionLimit:
    """``SESSION_LIMIT`` read: how many live sessions a user may have (None: no limit)."""

    default: int | None = None
    roles: dict[str, int | None] = field(default_factory=dict)
    tiers: dict[str, int | None] = field(default_factory=dict)

    def for_user(self, roles: frozenset[str] | set[str], tier: str | None) -> int | None:
        """The smallest limit among the user's roles and tier that have one; ``default``
        when none of them is listed. None means no limit."""
        listed = [self.roles[role] for role in roles if role in self.roles]
        if tier is not None and tier in self.tiers:
            listed.append(self.tiers[tier])
        if not listed:
            return self.default
        numbers = [value for value in listed if value is not None]
        return min(numbers) if numbers else None


_SHAPE = (
    "an integer >= 1, None (no limit), or a mapping such as "
    "{'default': 3, 'roles': {'admin': 1}, 'tiers': {'free': 1, 'pro': 10}}"
)


def _count(key: str, where: str, value: Any) -> int | None:
    if value is None or (type(value) is int and value >= 1):
        return value
    raise ImproperlyConfigured(
        f"JWTSESSION[{key!r}]{where} must be an integer >= 1 or None, got {value!r}."
    )


def _named_counts(key: str, part: str, value: Any) -> dict[str, int | None]:
    if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
        raise ImproperlyConfigured(
            f"JWTSESSION[{key!r}][{part!r}] must map names to limits, got {value!r}."
        )
    return {name: _count(key, f"[{part!r}][{name!r}]", count) for name, count in value.items()}


def session_limit(key: str, value: Any) -> SessionLimit | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        if type(value) is not int or value < 1:
            raise ImproperlyConfigured(f"JWTSESSION[{key!r}] must be {_SHAPE}, got {value!r}.")
        return SessionLimit(default=value)
    unknown = sorted(str(name) for name in value if name not in ("default", "roles", "tiers"))
    if unknown:
        raise ImproperlyConfigured(
            f"JWTSESSION[{key!r}] has unknown keys {unknown}: it must be {_SHAPE}."
        )
    return SessionLimit(
        default=_count(key, "['default']", value.get("default")),
        roles=_named_counts(key, "roles", value.get("roles", {})),
        tiers=_named_counts(key, "tiers", value.get("tiers", {})),
    )


READERS: dict[str, read.Reader] = {
    "SESSION_LIMIT": session_limit,
    "SESSION_LIMIT_POLICY": read.one_of(LIMIT_POLICIES),
    "HISTORY_RETENTION": read.integer(),
}
