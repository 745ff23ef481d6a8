"""How each ``JWTSESSION`` value is read: every reader returns the value or raises
``ImproperlyConfigured`` with a message naming the key (:mod:`~django_jwtsession.conf`
collects them all, so every invalid key is reported, not just the first)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

SETTING_NAME = "JWTSESSION"
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "EdDSA", "RS256"})
ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
STRATEGIES = ("jwt", "db")
CACHE_OUTAGE_POLICIES = ("database", "refuse")

Reader = Callable[[str, Any], Any]
"""``reader(key, value)``: the value to keep, or ``ImproperlyConfigured`` naming ``key``."""


def _named(key: str) -> str:
    return f"{SETTING_NAME}[{key!r}]"


def one_of(choices: tuple[str, ...] | frozenset[str]) -> Reader:
    listed = sorted(choices) if isinstance(choices, frozenset) else list(choices)

    def read(key: str, value: Any) -> Any:
        if value not in choices:
            raise ImproperlyConfigured(f"{_named(key)} must be one of {listed}, got {value!r}.")
        return value

    return read


def integer(minimum: int = 0) -> Reader:
    def read(key: str, value: Any) -> int:
        if type(value) is not int or value < minimum:
            raise ImproperlyConfigured(
                f"{_named(key)} must be an integer >= {minimum}, got {value!r}."
            )
        return value

    return read


def optional_integer(minimum: int = 0) -> Reader:
    """An integer ``>= minimum``, or None (off)."""
    required = integer(minimum)

    def read(key: str, value: Any) -> int | None:
        if value is None:
            return None
        try:
            return required(key, value)  # type: ignore[no-any-return]
        except ImproperlyConfigured:
            raise ImproperlyConfigured(
                f"{_named(key)} must be None (off) or an integer >= {minimum}, got {value!r}."
            ) from None

    return read


def boolean(key: str, value: Any) -> bool:
    if type(value) is not bool:
        raise ImproperlyConfigured(f"{_named(key)} must be True or False.")
    return value


def optional_string(key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ImproperlyConfigured(f"{_named(key)} must be a string or None.")
    return value


def string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ImproperlyConfigured(f"{_named(key)} must be a string.")
    return value


def anything(key: str, value: Any) -> Any:
    """Checked where it is used (``PRIVATE_KEY``: the key ring, check ``jwtsession.E003``)."""
    return value


def path_or_callable(*, optional: bool) -> Reader:
    def read(key: str, value: Any) -> Any:
        if not (isinstance(value, str) or callable(value) or (value is None and optional)):
            raise ImproperlyConfigured(
                f"{_named(key)} must be a dotted path or a callable, got {value!r}."
            )
        return value

    return read


def secret_keys(key: str, value: Any) -> tuple[bytes, ...]:
    """The secrets: ``SECRET_KEYS``, else ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``."""
    if value is None:
        value = [
            django_settings.SECRET_KEY,
            *(getattr(django_settings, "SECRET_KEY_FALLBACKS", None) or ()),
        ]
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, (str, bytes)) for s in value):
        raise ImproperlyConfigured(f"{_named(key)} must be a list of strings.")
    found = tuple(s.encode() if isinstance(s, str) else s for s in value if s)
    if not found:
        raise ImproperlyConfigured(
            f"{SETTING_NAME} needs a secret: set SECRET_KEY or {_named(key)}."
        )
    return found


def public_keys(key: str, value: Any) -> tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise ImproperlyConfigured(f"{_named(key)} must be a list of PEM strings.")
    return tuple(value)


def mark_models(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(label, str) and isinstance(path, str) and "." in label and path
        for label, path in value.items()
    ):
        raise ImproperlyConfigured(
            f"{_named(key)} must map 'app_label.Model' to the path of its user, "
            "e.g. {'billing.Subscription': 'user'}."
        )
    return dict(value)


def client_ip_header(key: str, value: Any) -> str | None:
    if value is not None and not (isinstance(value, str) and value.startswith("HTTP_")):
        raise ImproperlyConfigured(
            f"{_named(key)} must be None or a request.META key such as "
            f"'HTTP_X_FORWARDED_FOR', got {value!r}."
        )
    return value


def role_hierarchy(key: str, value: Any) -> dict[str, tuple[str, ...]]:
    """``{"admin": ["editor"], "editor": ["viewer"]}``: each role and the roles it implies."""
    if not isinstance(value, Mapping) or not all(
        isinstance(role, str)
        and isinstance(implied, (list, tuple))
        and all(isinstance(item, str) for item in implied)
        for role, implied in value.items()
    ):
        raise ImproperlyConfigured(
            f"{_named(key)} must map a role to the list of roles it implies, "
            f"e.g. {{'admin': ['editor']}}, got {value!r}."
        )
    return {role: tuple(implied) for role, implied in value.items()}


def tier_order(key: str, value: Any) -> tuple[str, ...]:
    """The tiers from lowest to highest, e.g. ``["free", "pro", "enterprise"]``."""
    if (
        not isinstance(value, (list, tuple))
        or not all(isinstance(tier, str) for tier in value)
        or len(set(value)) != len(value)
    ):
        raise ImproperlyConfigured(
            f"{_named(key)} must be a list of distinct tier names, lowest first, got {value!r}."
        )
    return tuple(value)


def accept_from(key: str, value: Any) -> tuple[str, ...]:
    """``ACCEPT_FROM``: our strategies by name, Django's engines by their module path."""
    message = (
        f"{_named(key)} must be a list of strategies ('jwt', 'db') or session "
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
