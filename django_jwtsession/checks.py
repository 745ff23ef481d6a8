"""System checks ``jwtsession.E0xx`` / ``jwtsession.W0xx`` (documented in ``docs/checks.md``)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register as register_check
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import clock_checks, conf, policy_checks, project_checks
from .claims import get_provider
from .keys import get_key_ring

OUR_SESSION_MIDDLEWARE = "django_jwtsession.middleware.SessionMiddleware"
OUR_AUTH_MIDDLEWARE = "django_jwtsession.middleware.AuthenticationMiddleware"
DJANGO_SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
DJANGO_AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
OUR_ENGINES = (
    "django_jwtsession.backends.session",
    "django_jwtsession.backends.jwt",
    "django_jwtsession.backends.db",
)
HEADER_SAFE_TOKEN_BYTES = 8000  # gunicorn: 8190 bytes per header field; nginx: 8 KB buffers
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def register() -> None:
    register_check(check_settings, Tags.security, "jwtsession")
    register_check(check_middleware, "jwtsession")
    register_check(check_cache, Tags.caches, "jwtsession")
    register_check(check_strategy, "jwtsession")
    register_check(clock_checks.check_clocks, "jwtsession")
    register_check(policy_checks.check_policies, "jwtsession")
    register_check(check_cookie_deploy, Tags.security, deploy=True)
    register_check(project_checks.check_setting_names, "jwtsession")
    register_check(project_checks.check_sources, Tags.models, "jwtsession")
    register_check(project_checks.check_cache_answers, Tags.caches, "jwtsession")


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    problems = conf.settings_problems()
    if problems:  # each one, with its own id: an unknown key (E001) or an invalid value (E002)
        return [
            Error(p.message, hint=p.hint, id="jwtsession.E001" if p.unknown else "jwtsession.E002")
            for p in problems
        ]
    jwt_settings = conf.get_settings()
    errors: list[CheckMessage] = []
    if jwt_settings.is_hmac and (jwt_settings.private_key or jwt_settings.public_keys):
        errors.append(
            Error(
                f"JWTSESSION['ALGORITHM'] is {jwt_settings.algorithm!r} (HMAC) but asymmetric keys "
                "(PRIVATE_KEY / PUBLIC_KEYS) are configured.",
                hint="Use an asymmetric ALGORITHM (ES256, EdDSA, RS256) or remove the keys.",
                id="jwtsession.E004",
            )
        )
    else:
        try:
            get_key_ring()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="jwtsession.E003"))
    weak = [s for s in jwt_settings.secret_keys if len(s) < 32 or len(set(s)) < 5]
    if weak:
        errors.append(
            Warning(
                f"{len(weak)} secret(s) the session keys are derived from are weak "
                "(shorter than 32 characters or fewer than 5 distinct characters).",
                hint="Use a long random SECRET_KEY "
                "(django.core.management.utils.get_random_secret_key).",
                id="jwtsession.W001",
            )
        )
    try:
        get_provider()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="jwtsession.E011"))
    if jwt_settings.update_age >= settings.SESSION_COOKIE_AGE:
        errors.append(
            Warning(
                "JWTSESSION['UPDATE_AGE'] is not less than SESSION_COOKIE_AGE: "
                "active sessions expire instead of sliding.",
                hint="Set UPDATE_AGE well below SESSION_COOKIE_AGE.",
                id="jwtsession.W005",
            )
        )
    if jwt_settings.max_lifetime < settings.SESSION_COOKIE_AGE:
        errors.append(
            Warning(
                "JWTSESSION['MAX_LIFETIME'] is shorter than SESSION_COOKIE_AGE: "
                "every session ends at MAX_LIFETIME.",
                id="jwtsession.W006",
            )
        )
    if jwt_settings.max_token_bytes > HEADER_SAFE_TOKEN_BYTES:
        errors.append(
            Warning(
                f"JWTSESSION['MAX_TOKEN_BYTES'] is {jwt_settings.max_token_bytes}: a token that "
                "long (sent in the one Cookie header) goes over the 8 KB request header limit of "
                "common servers and proxies, which then refuse every request of that session.",
                hint=f"Keep MAX_TOKEN_BYTES at or under {HEADER_SAFE_TOKEN_BYTES} (the default is "
                f"{conf.DEFAULTS['MAX_TOKEN_BYTES']}), or raise the header limits of every server "
                "in front of Django first.",
                id="jwtsession.W008",
            )
        )
    return errors


def _is_subclass(path: str, base_path: str) -> bool:
    """True when ``path`` imports to a subclass of ``base_path`` (not for function middleware)."""
    try:
        middleware = import_string(path)
        return inspect.isclass(middleware) and issubclass(middleware, import_string(base_path))
    except (ImportError, TypeError):
        return False


def check_middleware(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.SESSION_ENGINE not in OUR_ENGINES:
        if OUR_SESSION_MIDDLEWARE in settings.MIDDLEWARE:
            return [
                Warning(
                    f"SESSION_ENGINE is {settings.SESSION_ENGINE!r}, not a django_jwtsession "
                    "engine: the jwtsession middleware then behaves as Django's own.",
                    hint="Set SESSION_ENGINE = 'django_jwtsession.backends.session'.",
                    id="jwtsession.W002",
                )
            ]
        return []
    middleware = list(settings.MIDDLEWARE)
    errors: list[CheckMessage] = []
    for ours, django_own, missing_id in (
        (OUR_SESSION_MIDDLEWARE, DJANGO_SESSION_MIDDLEWARE, "jwtsession.E006"),
        (OUR_AUTH_MIDDLEWARE, DJANGO_AUTH_MIDDLEWARE, "jwtsession.E007"),
    ):
        count = sum(1 for path in middleware if _is_subclass(path, ours))
        if count == 0 and django_own in middleware:  # Django's in place of ours: one message
            errors.append(
                Error(
                    f"{django_own!r} is in MIDDLEWARE in place of {ours!r}.",
                    hint=f"Replace {django_own!r} with {ours!r} (a subclass of it).",
                    id=missing_id,
                )
            )
            continue
        if count == 0:
            errors.append(
                Error(f"{ours!r} is not in MIDDLEWARE.", hint=f"Add {ours!r}.", id=missing_id)
            )
        elif count > 1:
            errors.append(
                Error(f"{ours!r} appears {count} times in MIDDLEWARE.", id="jwtsession.E008")
            )
        if django_own in middleware:
            errors.append(
                Error(
                    f"{django_own!r} is in MIDDLEWARE alongside {ours!r}: both would run.",
                    hint=f"Remove {django_own!r}: {ours!r} replaces it.",
                    id="jwtsession.E010",
                )
            )
    if (
        OUR_SESSION_MIDDLEWARE in middleware
        and OUR_AUTH_MIDDLEWARE in middleware
        and middleware.index(OUR_AUTH_MIDDLEWARE) < middleware.index(OUR_SESSION_MIDDLEWARE)
    ):
        errors.append(
            Error(
                f"{OUR_AUTH_MIDDLEWARE!r} comes before {OUR_SESSION_MIDDLEWARE!r}.",
                hint="Put the session middleware first.",
                id="jwtsession.E009",
            )
        )
    return errors


PINNED_ENGINES = {
    "django_jwtsession.backends.jwt": "jwt",
    "django_jwtsession.backends.db": "db",
}
DJANGO_TABLE_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def check_strategy(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        jwt_settings = conf.get_settings()
    except ImproperlyConfigured:
        return []  # reported by check_settings
    errors: list[CheckMessage] = []
    pinned = PINNED_ENGINES.get(settings.SESSION_ENGINE)
    if (
        pinned is not None
        and "STRATEGY" in conf.user_settings()
        and pinned != jwt_settings.strategy
    ):
        errors.append(
            Warning(
                f"SESSION_ENGINE {settings.SESSION_ENGINE!r} always uses the {pinned!r} strategy, "
                f"but JWTSESSION['STRATEGY'] is {jwt_settings.strategy!r}.",
                hint="Use SESSION_ENGINE 'django_jwtsession.backends.session' (follows STRATEGY).",
                id="jwtsession.W009",
            )
        )
    needs_table = [kind for kind in jwt_settings.accept_from if kind in DJANGO_TABLE_ENGINES]
    if needs_table and not apps.is_installed("django.contrib.sessions"):
        errors.append(
            Error(
                f"JWTSESSION['ACCEPT_FROM'] takes over {needs_table[0]!r} sessions, whose table "
                "belongs to django.contrib.sessions, which is not installed.",
                hint="Keep 'django.contrib.sessions' in INSTALLED_APPS during the transition.",
                id="jwtsession.E013",
            )
        )
    return errors


def check_cache(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        alias = conf.get_settings().cache_alias
    except ImproperlyConfigured:
        return []  # reported by check_settings
    caches = settings.CACHES
    if alias not in caches:
        return [
            Error(
                f"JWTSESSION['CACHE_ALIAS'] = {alias!r} is not in CACHES.",
                id="jwtsession.E012",
            )
        ]
    if caches[alias].get("BACKEND") in PER_PROCESS_CACHES:
        return [
            Warning(
                f"The cache {alias!r} ({caches[alias]['BACKEND']}) is per process: marks and "
                "revocations made in one process are not seen by the others.",
                hint="Use Redis (django_redis.cache.RedisCache), or on one machine Django's "
                "FileBasedCache or DatabaseCache.",
                id="jwtsession.W003",
            )
        ]
    return []


def check_cookie_deploy(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.SESSION_ENGINE not in OUR_ENGINES:
        return errors
    if not settings.SESSION_COOKIE_SECURE:
        errors.append(
            Warning(
                "SESSION_COOKIE_SECURE is False: the session token can travel over plain HTTP.",
                hint="Set SESSION_COOKIE_SECURE = True.",
                id="jwtsession.W004",
            )
        )
    if not settings.SESSION_COOKIE_HTTPONLY:
        errors.append(
            Warning(
                "SESSION_COOKIE_HTTPONLY is False: scripts can read the session token.",
                hint="Set SESSION_COOKIE_HTTPONLY = True.",
                id="jwtsession.W007",
            )
        )
    return errors
