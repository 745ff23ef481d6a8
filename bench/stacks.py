"""The stacks under test: settings overrides, URL and credential of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import caches
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

DJANGO_SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
OUR_SESSION = "django_jwtsession.middleware.SessionMiddleware"
OUR_AUTH = "django_jwtsession.middleware.AuthenticationMiddleware"


@dataclass(frozen=True)
class Stack:
    key: str
    label: str
    path: str
    overrides: dict[str, Any] = field(default_factory=dict)
    credential: str = "none"  # "none", "session" (cookie) or "bearer" (simplejwt)
    reference: bool = False
    """Shown for context (what DRF alone costs), not one of the compared stacks."""
    evict: str = "none"
    """Before each request, untimed: "none", "session" (the db session's cache entry) or
    "all" (the benchmark's whole cache flushed)."""
    expect_sql: float | None = None
    """SQL queries per request the stack must show (checked after counting), if set."""
    expect_cache: float | None = None
    """Cache calls per request the stack must show (checked after counting), if set."""
    mirror: bool = False
    """Timed only once the pushed mirror serves (and holds the session's entries)."""
    redis_only: bool = False
    """Only with django-redis (the PostgreSQL + Redis run): the pushed mirror needs it."""


def _django(engine: str) -> dict[str, Any]:
    return {"MIDDLEWARE": [DJANGO_SESSION, DJANGO_AUTH], "SESSION_ENGINE": engine}


def _ours(**jwtsession: Any) -> dict[str, Any]:
    return {
        "MIDDLEWARE": [OUR_SESSION, OUR_AUTH],
        "SESSION_ENGINE": "django_jwtsession.backends.jwt",
        "JWTSESSION": {"ALGORITHM": "HS256", **jwtsession},
    }


def _ours_db(**jwtsession: Any) -> dict[str, Any]:
    return {
        "MIDDLEWARE": [OUR_SESSION, OUR_AUTH],
        "SESSION_ENGINE": "django_jwtsession.backends.session",
        "JWTSESSION": {"STRATEGY": "db", **jwtsession},
    }


STACKS: tuple[Stack, ...] = (
    Stack("bare", "bare Django (no session/auth)", "/bare/", {"MIDDLEWARE": []}),
    Stack(
        "drf", "DRF APIView, no auth (reference)", "/drf/bare/", {"MIDDLEWARE": []}, reference=True
    ),
    Stack(
        "db",
        "Django db session + auth",
        "/whoami/",
        _django("django.contrib.sessions.backends.db"),
        "session",
    ),
    Stack(
        "cached_db",
        "Django cached_db session + auth",
        "/whoami/",
        _django("django.contrib.sessions.backends.cached_db"),
        "session",
    ),
    Stack(
        "signed_cookies",
        "Django signed_cookies + auth",
        "/whoami/",
        _django("django.contrib.sessions.backends.signed_cookies"),
        "session",
    ),
    Stack(
        "simplejwt",
        "simplejwt JWTAuthentication (DRF)",
        "/drf/simplejwt/",
        {"MIDDLEWARE": []},
        "bearer",
    ),
    Stack(
        "simplejwt_stateless",
        "simplejwt JWTStatelessUserAuthentication (DRF)",
        "/drf/simplejwt-stateless/",
        {"MIDDLEWARE": []},
        "bearer",
    ),
    Stack(
        "jwt_hs256",
        "django-jwtsession jwt, HS256 (state check memoized)",
        "/whoami/",
        _ours(STATE_MEMO_SECONDS=3600),
        "session",
        expect_sql=0,
    ),
    Stack(
        "jwt_hs256_enc",
        "django-jwtsession jwt, HS256 + ENCRYPT (state check memoized)",
        "/whoami/",
        _ours(ENCRYPT=True, STATE_MEMO_SECONDS=3600),
        "session",
        expect_sql=0,
    ),
    Stack(
        "jwt_hs256_state",
        "django-jwtsession jwt, HS256 + state check (1 cache round trip)",
        "/whoami/",
        _ours(MIRROR=False),
        "session",
        expect_sql=0,
    ),
    Stack(
        "jwt_pushed",
        "django-jwtsession jwt, pushed mirror",
        "/whoami/",
        _ours(),
        "session",
        expect_sql=0,
        expect_cache=0,
        mirror=True,
        redis_only=True,
    ),
    Stack(
        "jwt_untouched",
        "django-jwtsession jwt, a view touching neither session nor user",
        "/bare/",
        _ours(),
        "session",
        expect_sql=0,
        expect_cache=0,
    ),
    Stack(
        "db_warm",
        "django-jwtsession db, warm cache (1 cache round trip)",
        "/whoami/",
        _ours_db(MIRROR=False),
        "session",
        expect_sql=0,
    ),
    Stack(
        "db_pushed",
        "django-jwtsession db warm, pushed mirror",
        "/whoami/",
        _ours_db(),
        "session",
        expect_sql=0,
        expect_cache=0,
        mirror=True,
        redis_only=True,
    ),
    Stack(
        "db_cold_entry",
        "django-jwtsession db, cold: session entry evicted",
        "/whoami/",
        _ours_db(MIRROR=False),
        "session",
        evict="session",
        expect_sql=1,
    ),
    Stack(
        "db_cold_all",
        "django-jwtsession db, cold: cache flushed",
        "/whoami/",
        _ours_db(MIRROR=False),
        "session",
        evict="all",
        expect_sql=1,
    ),
)


def stacks_for(db: str) -> tuple[Stack, ...]:
    """The stacks a run on ``db`` ("sqlite" or "postgres") times."""
    return tuple(stack for stack in STACKS if db == "postgres" or not stack.redis_only)


def mirror_serving(handler: Any, request: Any) -> None:
    """Wait until the pushed mirror serves and holds the stack's entries (``request(handler)``
    sends one request): its listener restarts whenever settings change."""
    from django_jwtsession import listener

    if not listener.wait_serving(10):
        raise RuntimeError("the pushed mirror did not serve within 10 s")
    for _ in range(2):  # refill Redis from the database; then a round trip the mirror keeps
        request(handler)
        if not listener.sync():
            raise RuntimeError("the pushed mirror stopped serving")
    request(handler)


def credential_headers(stack: Stack, user: AbstractBaseUser, roles: list[str]) -> dict[str, str]:
    """WSGI headers that authenticate ``user`` on ``stack`` (call under its settings)."""
    if stack.credential == "session":
        client = Client()
        client.force_login(user)  # a real login(): session row, signed cookie or token
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        return {"HTTP_COOKIE": cookie}
    if stack.credential == "bearer":
        token = AccessToken.for_user(user)
        token["username"] = user.get_username()  # what TokenUser.username reads
        token["roles"] = roles  # carried in the token, as our claims are
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return {}


def evictor(stack: Stack, headers: dict[str, str]) -> Callable[[], None] | None:
    """What to run before each of ``stack``'s requests (untimed), or None."""
    if stack.evict == "none":
        return None
    from django_jwtsession.conf import get_settings

    cache = caches[get_settings().cache_alias]
    if stack.evict == "all":
        if hasattr(cache, "delete_pattern"):
            return lambda: cache.delete_pattern("*")  # only this benchmark's KEY_PREFIX
        return cache.clear
    from django_jwtsession.backends.db_keys import is_db_key, parse
    from django_jwtsession.backends.table_storage import entry_key

    cookies = SimpleCookie(headers["HTTP_COOKIE"])
    value = cookies[settings.SESSION_COOKIE_NAME].value
    if not is_db_key(value):
        raise RuntimeError(f"{stack.key}: not a db session cookie")
    parsed = parse(value)  # d1.<secret>.<user hint>
    assert parsed is not None
    key = entry_key(parsed.session_id, "db", parsed.user_id)
    return lambda: cache.delete(key)
