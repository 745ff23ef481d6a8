"""Typed, lazily read settings: the ``JWTSESSION`` dict.

Nothing is read at import time; the resolved settings are cached until settings
change (:mod:`~django_jwtsession.derived`), so ``override_settings`` just works.
Every problem is collected (:func:`settings_problems`: the system checks report each
one with its id); :func:`get_settings` raises one ``ImproperlyConfigured`` naming them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from . import conf_values as read
from .conf_values import (
    ALGORITHMS,
    ASYMMETRIC_ALGORITHMS,
    CACHE_OUTAGE_POLICIES,
    HMAC_ALGORITHMS,
    SETTING_NAME,
    STRATEGIES,
)
from .derived import derived
from .mirror_conf import DEFAULTS as MIRROR_DEFAULTS, READERS as MIRROR_READERS
from .policy_conf import DEFAULTS as POLICY_DEFAULTS, READERS as POLICY_READERS, SessionLimit

__all__ = [
    "ALGORITHMS",
    "ASYMMETRIC_ALGORITHMS",
    "CACHE_OUTAGE_POLICIES",
    "DEFAULTS",
    "HMAC_ALGORITHMS",
    "SETTING_NAME",
    "STRATEGIES",
    "JWTSessionSettings",
    "SettingProblem",
    "get_settings",
    "settings_problems",
    "user_settings",
]

DEFAULTS: dict[str, Any] = {
    "STRATEGY": "jwt",
    "ALGORITHM": "HS256",
    "SECRET_KEYS": None,
    "PRIVATE_KEY": None,
    "PUBLIC_KEYS": (),
    "ENCRYPT": False,
    "CLAIMS_PROVIDER": "django_jwtsession.claims.default_provider",
    "ROLES_SOURCE": "groups",
    "TIER_SOURCE": None,
    "DEFAULT_TIER": None,
    "FLAGS_SOURCE": None,
    "CLAIMS_TTL": 300,
    "UPDATE_AGE": 3600,
    "MAX_LIFETIME": 30 * 24 * 3600,
    "IDLE_TIMEOUT": None,
    "IMPERSONATE_SUPERUSERS": False,
    "LEEWAY": 5,
    "ISSUER": None,
    "AUDIENCE": None,
    "MAX_TOKEN_BYTES": 7600,  # two cookie chunks: under 8 KB header limits
    "CACHE_ALIAS": "default",
    "STATE_CACHE_TIMEOUT": 3600,
    "STATE_MEMO_SECONDS": 0,
    "MARK_MODELS": {},
    "ON_CACHE_OUTAGE": "database",
    "CLIENT_IP_HEADER": None,
    "METRICS_FLUSH_SECONDS": 10,
    "ACCEPT_FROM": (),
    "ROLE_HIERARCHY": {},
    "TIER_ORDER": (),
    "SUPERUSER_HAS_ALL_ROLES": True,
    **MIRROR_DEFAULTS,  # MIRROR, MIRROR_HEALTH_SECONDS, ... (mirror_conf.py)
    **POLICY_DEFAULTS,  # SESSION_LIMIT, SESSION_LIMIT_POLICY, HISTORY_RETENTION: policy_conf.py
}


@dataclass(frozen=True)
class JWTSessionSettings:
    """The resolved ``JWTSESSION`` settings (see ``docs/settings.md``)."""

    strategy: str
    algorithm: str
    secret_keys: tuple[bytes, ...]
    private_key: str | bytes | None
    public_keys: tuple[str | bytes, ...]
    encrypt: bool
    claims_provider: str | Callable[..., Any]
    roles_source: str | Callable[..., Any] | None
    tier_source: str | Callable[..., Any] | None
    default_tier: str | None
    flags_source: str | Callable[..., Any] | None
    claims_ttl: int
    update_age: int
    max_lifetime: int
    idle_timeout: int | None
    impersonate_superusers: bool
    leeway: int
    issuer: str | None
    audience: str | None
    max_token_bytes: int
    cache_alias: str
    state_cache_timeout: int
    state_memo_seconds: int
    mark_models: dict[str, str]
    on_cache_outage: str
    client_ip_header: str | None
    metrics_flush_seconds: int
    accept_from: tuple[str, ...]
    role_hierarchy: dict[str, tuple[str, ...]]
    tier_order: tuple[str, ...]
    superuser_has_all_roles: bool
    mirror: bool  # MIRROR and the four below: mirror_conf.py
    mirror_health_seconds: float
    mirror_max_entries: int
    cache_socket_timeout: float
    replay_seconds: float
    session_limit: SessionLimit | None  # SESSION_LIMIT and the two below: policy_conf.py
    session_limit_policy: str
    history_retention: int

    @property
    def is_hmac(self) -> bool:
        return self.algorithm in HMAC_ALGORITHMS


READERS: dict[str, read.Reader] = {
    "STRATEGY": read.one_of(STRATEGIES),
    "ALGORITHM": read.one_of(ALGORITHMS),
    "SECRET_KEYS": read.secret_keys,
    "PRIVATE_KEY": read.anything,
    "PUBLIC_KEYS": read.public_keys,
    "ENCRYPT": read.boolean,
    "CLAIMS_PROVIDER": read.path_or_callable(optional=False),
    "ROLES_SOURCE": read.path_or_callable(optional=True),
    "TIER_SOURCE": read.path_or_callable(optional=True),
    "DEFAULT_TIER": read.optional_string,
    "FLAGS_SOURCE": read.path_or_callable(optional=True),
    "CLAIMS_TTL": read.integer(),
    "UPDATE_AGE": read.integer(),
    "MAX_LIFETIME": read.integer(minimum=60),
    "IDLE_TIMEOUT": read.optional_integer(minimum=60),
    "IMPERSONATE_SUPERUSERS": read.boolean,
    "LEEWAY": read.integer(),
    "ISSUER": read.optional_string,
    "AUDIENCE": read.optional_string,
    "MAX_TOKEN_BYTES": read.integer(minimum=512),
    "CACHE_ALIAS": read.string,
    "STATE_CACHE_TIMEOUT": read.integer(minimum=1),
    "STATE_MEMO_SECONDS": read.integer(),
    "MARK_MODELS": read.mark_models,
    "ON_CACHE_OUTAGE": read.one_of(CACHE_OUTAGE_POLICIES),
    "CLIENT_IP_HEADER": read.client_ip_header,
    "METRICS_FLUSH_SECONDS": read.integer(),
    "ACCEPT_FROM": read.accept_from,
    "ROLE_HIERARCHY": read.role_hierarchy,
    "TIER_ORDER": read.tier_order,
    "SUPERUSER_HAS_ALL_ROLES": read.boolean,
    **MIRROR_READERS,
    **POLICY_READERS,
}
"""How each key is read (:mod:`~django_jwtsession.conf_values`); its field is its lowercase name."""


@dataclass(frozen=True)
class SettingProblem:
    """One thing wrong with ``JWTSESSION`` (the checks report each: ``jwtsession.E001`` for an
    unknown key, ``jwtsession.E002`` for an invalid value)."""

    key: str | None
    """The key at fault (None: ``JWTSESSION`` itself)."""
    message: str
    hint: str | None = None
    unknown: bool = False
    """True for a key that is not a setting (it is ignored)."""


def user_settings() -> Mapping[str, Any]:
    """The raw ``JWTSESSION`` dict (empty when unset)."""
    value = getattr(django_settings, SETTING_NAME, None)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict, not {type(value).__name__}.")
    return value


def _unknown(key: Any) -> SettingProblem:
    close = difflib.get_close_matches(str(key).upper(), DEFAULTS, n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]!r}?" if close else None
    return SettingProblem(
        str(key),
        f"Unknown {SETTING_NAME} key {key!r}: it is ignored.",
        hint=(hint + " " if hint else "") + f"Valid keys: {', '.join(DEFAULTS)}.",
        unknown=True,
    )


@derived
def _resolved() -> tuple[JWTSessionSettings | None, tuple[SettingProblem, ...]]:
    try:
        raw = user_settings()
    except ImproperlyConfigured as exc:
        return None, (SettingProblem(None, str(exc)),)
    problems = [_unknown(key) for key in raw if key not in DEFAULTS]
    values: dict[str, Any] = {}
    for key, reader in READERS.items():
        try:
            values[key.lower()] = reader(key, raw.get(key, DEFAULTS[key]))
        except ImproperlyConfigured as exc:
            problems.append(SettingProblem(key, str(exc)))
    if problems:
        return None, tuple(problems)
    return JWTSessionSettings(**values), ()


def settings_problems() -> tuple[SettingProblem, ...]:
    """Everything wrong with ``JWTSESSION``: each unknown key and each invalid value."""
    return _resolved()[1]


def get_settings() -> JWTSessionSettings:
    """The resolved ``JWTSESSION``; ``ImproperlyConfigured`` naming every problem if any."""
    resolved, problems = _resolved()
    if resolved is None:
        if len(problems) == 1:
            raise ImproperlyConfigured(problems[0].message)
        listed = " ".join(f"({number}) {p.message}" for number, p in enumerate(problems, 1))
        raise ImproperlyConfigured(f"{SETTING_NAME} has {len(problems)} problems: {listed}")
    return resolved
