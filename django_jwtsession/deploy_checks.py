"""Deployment checks ``jwtsession.W1xx`` (``manage.py check --deploy``) and the cookie
prefix error ``jwtsession.E101``: settings that work, but are unsafe in production.

Documented, with the bound each one enforces, in ``docs/checks.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from . import conf
from .cookie_header import VULNERABLE_UNQUOTE

OUR_ENGINES = (
    "django_jwtsession.backends.session",
    "django_jwtsession.backends.jwt",
    "django_jwtsession.backends.db",
)
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "sandbox-only-secret-key-9c1f0e7a4b2d8e6f3a5c7b9d1e2f4a6c",  # the sandbox's, until 0.1
        "tests-secret-key-4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e",  # this project's test settings
    }
)
"""Secret keys published in this repository: anyone can sign sessions with them."""
HMAC_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
WEAK_SECRET_BYTES = 32
"""Shorter secrets are jwtsession.W001's (always checked, not only with --deploy)."""
MAX_LEEWAY = 300
MAX_CLAIMS_TTL = 3600
MAX_STATE_MEMO_SECONDS = 5
MAX_LIFETIME = 365 * 24 * 3600
MAX_STATE_CACHE_TIMEOUT = 24 * 3600
BOUNDS = (
    ("LEEWAY", MAX_LEEWAY, "an expired token stays valid that long", "jwtsession.W103"),
    (
        "CLAIMS_TTL",
        MAX_CLAIMS_TTL,
        "a change made behind the signals' back shows that late",
        "jwtsession.W104",
    ),
    (
        "STATE_MEMO_SECONDS",
        MAX_STATE_MEMO_SECONDS,
        "a revocation in another process is honoured that late",
        "jwtsession.W105",
    ),
    ("MAX_LIFETIME", MAX_LIFETIME, "a stolen session lives that long", "jwtsession.W106"),
    (
        "STATE_CACHE_TIMEOUT",
        MAX_STATE_CACHE_TIMEOUT,
        "a revocation the cache missed (a writer cut off from it) can go unseen that long",
        "jwtsession.W107",
    ),
)
"""Settings that trade safety for speed, their bound in production, and what is at stake."""
SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"
FIXED_PYTHONS = "3.13.0, 3.12.6, 3.11.10, 3.10.15 or 3.9.20"


def register_checks() -> None:
    register(check_cookie_prefix, Tags.security)
    register(check_deploy_settings, Tags.security, deploy=True)
    register(check_deploy_cookie, Tags.security, deploy=True)
    register(check_interpreter, Tags.security, deploy=True)


def _ours() -> bool:
    return settings.SESSION_ENGINE in OUR_ENGINES


def check_cookie_prefix(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``__Host-`` cookies must be Secure, for ``/``, without a Domain, or browsers drop them."""
    name = settings.SESSION_COOKIE_NAME
    if not (_ours() and name.startswith("__Host-")):
        return []
    wrong = []
    if not settings.SESSION_COOKIE_SECURE:
        wrong.append("SESSION_COOKIE_SECURE = True")
    if settings.SESSION_COOKIE_PATH != "/":
        wrong.append('SESSION_COOKIE_PATH = "/"')
    if settings.SESSION_COOKIE_DOMAIN:
        wrong.append("SESSION_COOKIE_DOMAIN = None")
    if not wrong:
        return []
    return [
        Error(
            f"SESSION_COOKIE_NAME {name!r} has the __Host- prefix, which browsers accept only "
            "from a Secure cookie for Path=/ without a Domain: no session would ever be kept.",
            hint="Set " + ", ".join(wrong) + ".",
            id="jwtsession.E101",
        )
    ]


def check_deploy_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not _ours():
        return []
    try:
        jwt = conf.get_settings()
    except ImproperlyConfigured:
        return []  # reported by jwtsession.E002
    found: list[CheckMessage] = []
    secret = str(settings.SECRET_KEY)
    if secret in PUBLISHED_SECRET_KEYS:
        found.append(
            Warning(
                "SECRET_KEY is a key published in django-jwtsession's repository: anyone can "
                "sign a session for any user.",
                hint="Set a SECRET_KEY of your own (the sandbox makes one per checkout).",
                id="jwtsession.W101",
            )
        )
    needed = HMAC_BYTES.get(jwt.algorithm, 0)
    if any(WEAK_SECRET_BYTES <= len(key) < needed for key in jwt.secret_keys):  # else W001
        found.append(
            Warning(
                f"A secret signing sessions is shorter than the {jwt.algorithm} output "
                f"({needed} bytes): it is the weakest link of every token.",
                hint=f"Use secrets of at least {needed} random bytes (SECRET_KEY, or "
                "JWTSESSION['SECRET_KEYS']).",
                id="jwtsession.W102",
            )
        )
    for name, bound, why, check_id in BOUNDS:
        value = getattr(jwt, name.lower())
        if value > bound:
            found.append(
                Warning(
                    f"JWTSESSION[{name!r}] is {value} seconds: {why}.",
                    hint=f"Keep it at most {bound} seconds.",
                    id=check_id,
                )
            )
    if any(kind.startswith(SIGNED_COOKIES) for kind in jwt.accept_from):
        found.append(
            Warning(
                "JWTSESSION['ACCEPT_FROM'] accepts Django's signed_cookies sessions, which "
                "cannot be ended server-side: a stolen one is taken over until the window ends.",
                hint="Keep the window short, then remove it from ACCEPT_FROM.",
                id="jwtsession.W108",
            )
        )
    if jwt.issuer is None and (conf.user_settings().get("SECRET_KEYS") or not jwt.is_hmac):
        found.append(
            Warning(
                "JWTSESSION['ISSUER'] is unset while the signing keys are meant to be shared "
                "(SECRET_KEYS, or public keys): another deployment's tokens would be accepted.",
                hint="Set ISSUER (and AUDIENCE) to names only this deployment uses.",
                id="jwtsession.W112",
            )
        )
    return found


def check_deploy_cookie(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not _ours():
        return []
    found: list[CheckMessage] = []
    if str(settings.SESSION_COOKIE_SAMESITE).lower() == "none":
        found.append(
            Warning(
                'SESSION_COOKIE_SAMESITE = "None": every cross-site request carries the session.',
                hint='Use "Lax" (Django\'s default) or "Strict".',
                id="jwtsession.W109",
            )
        )
    if settings.SESSION_COOKIE_DOMAIN:
        found.append(
            Warning(
                f"SESSION_COOKIE_DOMAIN = {settings.SESSION_COOKIE_DOMAIN!r} shares the session "
                "cookie with every subdomain, and lets them set one (cookie tossing).",
                hint="Leave it None unless subdomains must share sessions.",
                id="jwtsession.W110",
            )
        )
    elif not settings.SESSION_COOKIE_NAME.startswith("__Host-"):
        found.append(
            Warning(
                "The session cookie has no __Host- prefix: a sibling subdomain can set a "
                "cookie of the same name (such a request is refused as ambiguous).",
                hint='Set SESSION_COOKIE_NAME = "__Host-sessionid" (with SESSION_COOKIE_SECURE).',
                id="jwtsession.W111",
            )
        )
    return found


def check_interpreter(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not VULNERABLE_UNQUOTE:
        return []
    return [
        Warning(
            "This Python parses cookies in quadratic time (CVE-2024-7592): an 8 KB Cookie "
            "header costs about a tenth of a second of CPU. SessionMiddleware parses such "
            "headers itself, but other code reading cookies first would not.",
            hint=f"Upgrade Python to {FIXED_PYTHONS} or later.",
            id="jwtsession.W113",
        )
    ]
