"""Typed, lazily read settings: the ``JWTSESSION`` dict.

Nothing is read at import time; the resolved settings are cached until settings
change (:mod:`~django_jwtsession.derived`), so ``override_settings`` just works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from .derived import derived
from .mirror_conf import DEFAULTS as MIRROR_DEFAULTS, mirror_settings

SETTING_NAME = "JWTSESSION"

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "EdDSA", "RS256"})
ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
STRATEGIES = ("jwt", "db")
CACHE_OUTAGE_POLICIES = ("database", "refuse")

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

    @property
    def is_hmac(self) -> bool:
        return self.algorithm in HMAC_ALGORITHMS


def user_settings() -> Mapping[str, Any]:
    """The raw ``JWTSESSION`` dict (empty when unset)."""
    value = getattr(django_settings, SETTING_NAME, None)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict, not {type(value).__name__}.")
    return value


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _int_setting(raw: Mapping[str, Any], name: str, minimum: int = 0) -> int:
    value = raw.get(name, DEFAULTS[name])
    if type(value) is not int or value < minimum:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{name!r}] must be an integer >= {minimum}, got {value!r}."
        )
    return value


@derived
def get_settings() -> JWTSessionSettings:
    """Resolve and validate ``JWTSESSION``; raise ``ImproperlyConfigured`` naming the key."""
    raw = user_settings()
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(f"Unknown {SETTING_NAME} keys: {', '.join(unknown)}.")
    algorithm = raw.get("ALGORITHM", DEFAULTS["ALGORITHM"])
    if algorithm not in ALGORITHMS:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['ALGORITHM'] must be one of {sorted(ALGORITHMS)}, got {algorithm!r}."
        )
    strategy = raw.get("STRATEGY", DEFAULTS["STRATEGY"])
    if strategy not in STRATEGIES:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['STRATEGY'] must be one of {list(STRATEGIES)}, got {strategy!r}."
        )
    secrets = raw.get("SECRET_KEYS")
    if secrets is None:
        secrets = [
            django_settings.SECRET_KEY,
            *(getattr(django_settings, "SECRET_KEY_FALLBACKS", None) or ()),
        ]
    if not isinstance(secrets, (list, tuple)) or not all(
        isinstance(s, (str, bytes)) for s in secrets
    ):
        raise ImproperlyConfigured(f"{SETTING_NAME}['SECRET_KEYS'] must be a list of strings.")
    secret_keys = tuple(_as_bytes(s) for s in secrets if s)
    if not secret_keys:
        raise ImproperlyConfigured(
            f"{SETTING_NAME} needs a secret: set SECRET_KEY or {SETTING_NAME}['SECRET_KEYS']."
        )
    public_keys = raw.get("PUBLIC_KEYS", DEFAULTS["PUBLIC_KEYS"])
    if not isinstance(public_keys, (list, tuple)):
        raise ImproperlyConfigured(f"{SETTING_NAME}['PUBLIC_KEYS'] must be a list of PEM strings.")
    for name in ("ISSUER", "AUDIENCE", "DEFAULT_TIER"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise ImproperlyConfigured(f"{SETTING_NAME}[{name!r}] must be a string or None.")
    if not isinstance(raw.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"]), str):
        raise ImproperlyConfigured(f"{SETTING_NAME}['CACHE_ALIAS'] must be a string.")
    if type(raw.get("ENCRYPT", DEFAULTS["ENCRYPT"])) is not bool:
        raise ImproperlyConfigured(f"{SETTING_NAME}['ENCRYPT'] must be True or False.")
    for name in ("CLAIMS_PROVIDER", "ROLES_SOURCE", "TIER_SOURCE", "FLAGS_SOURCE"):
        value = raw.get(name, DEFAULTS[name])
        if not (isinstance(value, str) or callable(value) or (value is None and "SOURCE" in name)):
            raise ImproperlyConfigured(
                f"{SETTING_NAME}[{name!r}] must be a dotted path or a callable, got {value!r}."
            )
    mark_models = raw.get("MARK_MODELS", DEFAULTS["MARK_MODELS"])
    if not isinstance(mark_models, Mapping) or not all(
        isinstance(label, str) and isinstance(path, str) and "." in label and path
        for label, path in mark_models.items()
    ):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['MARK_MODELS'] must map 'app_label.Model' to the path of its user, "
            "e.g. {'billing.Subscription': 'user'}."
        )
    on_cache_outage = raw.get("ON_CACHE_OUTAGE", DEFAULTS["ON_CACHE_OUTAGE"])
    if on_cache_outage not in CACHE_OUTAGE_POLICIES:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['ON_CACHE_OUTAGE'] must be one of {list(CACHE_OUTAGE_POLICIES)}, "
            f"got {on_cache_outage!r}."
        )
    client_ip_header = raw.get("CLIENT_IP_HEADER", DEFAULTS["CLIENT_IP_HEADER"])
    if client_ip_header is not None and not (
        isinstance(client_ip_header, str) and client_ip_header.startswith("HTTP_")
    ):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['CLIENT_IP_HEADER'] must be None or a request.META key such as "
            f"'HTTP_X_FORWARDED_FOR', got {client_ip_header!r}."
        )
    accept_from = _accept_from(raw.get("ACCEPT_FROM", DEFAULTS["ACCEPT_FROM"]))
    return JWTSessionSettings(
        strategy=strategy,
        algorithm=algorithm,
        secret_keys=secret_keys,
        private_key=raw.get("PRIVATE_KEY"),
        public_keys=tuple(public_keys),
        encrypt=bool(raw.get("ENCRYPT", DEFAULTS["ENCRYPT"])),
        claims_provider=raw.get("CLAIMS_PROVIDER", DEFAULTS["CLAIMS_PROVIDER"]),
        roles_source=raw.get("ROLES_SOURCE", DEFAULTS["ROLES_SOURCE"]),
        tier_source=raw.get("TIER_SOURCE", DEFAULTS["TIER_SOURCE"]),
        default_tier=raw.get("DEFAULT_TIER", DEFAULTS["DEFAULT_TIER"]),
        flags_source=raw.get("FLAGS_SOURCE", DEFAULTS["FLAGS_SOURCE"]),
        claims_ttl=_int_setting(raw, "CLAIMS_TTL"),
        update_age=_int_setting(raw, "UPDATE_AGE"),
        max_lifetime=_int_setting(raw, "MAX_LIFETIME", minimum=60),
        leeway=_int_setting(raw, "LEEWAY"),
        issuer=raw.get("ISSUER"),
        audience=raw.get("AUDIENCE"),
        max_token_bytes=_int_setting(raw, "MAX_TOKEN_BYTES", minimum=512),
        cache_alias=raw.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"]),
        state_cache_timeout=_int_setting(raw, "STATE_CACHE_TIMEOUT", minimum=1),
        state_memo_seconds=_int_setting(raw, "STATE_MEMO_SECONDS"),
        mark_models=dict(mark_models),
        on_cache_outage=on_cache_outage,
        client_ip_header=client_ip_header,
        metrics_flush_seconds=_int_setting(raw, "METRICS_FLUSH_SECONDS"),
        accept_from=accept_from,
        role_hierarchy=_role_hierarchy(raw.get("ROLE_HIERARCHY", DEFAULTS["ROLE_HIERARCHY"])),
        tier_order=_tier_order(raw.get("TIER_ORDER", DEFAULTS["TIER_ORDER"])),
        superuser_has_all_roles=_bool_setting(raw, "SUPERUSER_HAS_ALL_ROLES"),
        **mirror_settings(raw),
    )


def _bool_setting(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name, DEFAULTS[name])
    if type(value) is not bool:
        raise ImproperlyConfigured(f"{SETTING_NAME}[{name!r}] must be True or False.")
    return value


def _role_hierarchy(value: Any) -> dict[str, tuple[str, ...]]:
    """``{"admin": ["editor"], "editor": ["viewer"]}``: each role and the roles it implies."""
    if not isinstance(value, Mapping) or not all(
        isinstance(role, str)
        and isinstance(implied, (list, tuple))
        and all(isinstance(item, str) for item in implied)
        for role, implied in value.items()
    ):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['ROLE_HIERARCHY'] must map a role to the list of roles it implies, "
            f"e.g. {{'admin': ['editor']}}, got {value!r}."
        )
    return {role: tuple(implied) for role, implied in value.items()}


def _tier_order(value: Any) -> tuple[str, ...]:
    """The tiers from lowest to highest, e.g. ``["free", "pro", "enterprise"]``."""
    if (
        not isinstance(value, (list, tuple))
        or not all(isinstance(tier, str) for tier in value)
        or len(set(value)) != len(value)
    ):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['TIER_ORDER'] must be a list of distinct tier names, lowest first, "
            f"got {value!r}."
        )
    return tuple(value)


def _accept_from(value: Any) -> tuple[str, ...]:
    """``ACCEPT_FROM``: our strategies by name, Django's engines by their module path."""
    message = (
        f"{SETTING_NAME}['ACCEPT_FROM'] must be a list of strategies ('jwt', 'db') or session "
        f"engine paths (e.g. 'django.contrib.sessions.backends.db'), got {value!r}"
    )
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ImproperlyConfigured(message + ".")
    for kind in value:
        if kind in STRATEGIES:
            continue
        if kind.startswith("django_jwtsession."):
            raise ImproperlyConfigured(f"{message}: name our strategies as 'jwt' or 'db'.")
        try:
            engine = import_module(kind)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{message}: {kind!r} cannot be imported.") from exc
        if not hasattr(engine, "SessionStore"):
            raise ImproperlyConfigured(f"{message}: {kind!r} has no SessionStore.")
    return tuple(value)
