"""Shared fixtures. In CI (``CI`` set), PostgreSQL and Redis must really be there."""

from __future__ import annotations

import base64
import functools
import inspect
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from demo.models import Subscription
from django_jwtsession import revocation as revocation_module
from django_jwtsession.backends.db_keys import KEY_PREFIX as DB_KEY_PREFIX, session_id_for
from django_jwtsession.backends.table_storage import entry_key
from django_jwtsession.codec import b64url_decode, decode, encode
from django_jwtsession.conf import STRATEGIES, get_settings
from django_jwtsession.cookies import read_session_cookie
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord

PASSWORD = "test-password"


def pytest_configure(config: pytest.Config) -> None:
    required = [name for name in ("DATABASE_URL", "REDIS_URL") if os.environ.get(f"REQUIRE_{name}")]
    missing = [name for name in required if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(f"{', '.join(missing)} required by REQUIRE_* but not set.")


@pytest.fixture(autouse=True)
def _cache_is_reachable_and_clean(request: pytest.FixtureRequest) -> None:
    """Every test starts with an empty cache; a missing cache server is a failure, not a skip."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("django_db_setup")
    caches["default"].clear()  # the state mirror must not outlive the rolled-back database
    revocation_module._unmirrored.clear()  # nor a previous test's failed copies to retry


def make_user(
    username: str = "bob",
    *,
    roles: tuple[str, ...] = (),
    tier: str | None = None,
    flags: tuple[str, ...] = (),
    **fields: Any,
) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com", **fields
    )
    if roles:
        user.groups.set([Group.objects.get_or_create(name=role)[0] for role in roles])
    if tier is not None:
        Subscription.objects.create(user=user, tier=tier, flags=list(flags))
    return user


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob", roles=("editor",), tier="pro", flags=("beta",))


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    return client


# -- session tokens and counting helpers (session API, middleware, claims tests) ----------------

_CACHE_METHODS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "get_or_set",
    "has_key",
    "incr",
    "decr",
    "set_many",
    "delete_many",
    "clear",
    "incr_version",
    "decr_version",
)


def jwtsession_settings(**overrides: Any) -> override_settings:
    """``override_settings`` changing a few ``JWTSESSION`` keys and keeping the others."""
    return override_settings(JWTSESSION={**settings.JWTSESSION, **overrides})


def session_token(client: Client) -> str:
    """The client's session token, joined from its cookie chunks (empty when there is none)."""
    return (
        read_session_cookie({name: morsel.value for name, morsel in client.cookies.items()}) or ""
    )


def token_payload(token: str) -> dict[str, Any]:
    """The verified payload of a session: the jwt token's, or the db strategy's stored one."""
    if token.startswith(DB_KEY_PREFIX):
        row = _stored_session(token)
        payload: dict[str, Any] = json.loads(row.meta)
        return {**payload, "dat": json.loads(row.data), "sid": token_session_id(token)}
    return decode(token).payload


def _stored_session(key: str) -> SessionRecord:
    secret = key.split(".")[1]
    return SessionRecord.objects.get(session_hash=session_hash(session_id_for(secret)))


def client_session_id(client: Client) -> str:
    """The opaque ``session_id`` of the client's session, whatever the strategy."""
    return token_session_id(session_token(client))


def token_session_id(token: str) -> str:
    """The opaque ``session_id`` of a session cookie's value, whatever the strategy."""
    if token.startswith(DB_KEY_PREFIX):
        return session_id_for(token.split(".")[1])  # even once its stored data is gone
    sid: str = decode(token).payload["sid"]
    return sid


def token_header(token: str) -> dict[str, Any]:
    """The (unverified) protected header of a compact JWS."""
    header: dict[str, Any] = json.loads(b64url_decode(token.split(".")[0]))
    return header


def resign_session(client: Client, **changes: Any) -> dict[str, Any]:
    """Store the client's session with some payload members changed (e.g. an old iat):
    a re-signed token (jwt), or the rewritten row and cache entry (db)."""
    token = session_token(client)
    payload = {**token_payload(token), **changes}
    # What the server issues holds sat <= cat <= iat: keep it so unless a test says otherwise.
    if "clm" in payload and "iat" in changes and "cat" not in changes:
        payload["cat"] = min(payload["cat"], changes["iat"])
    if "clm" in payload and "sat" not in changes:
        payload["sat"] = min(payload["sat"], payload["cat"])
    if token.startswith(DB_KEY_PREFIX):
        meta = {key: value for key, value in payload.items() if key not in ("sid", "dat")}
        stored = {"data": json.dumps(payload["dat"]), "meta": json.dumps(meta)}
        SessionRecord.objects.filter(pk=_stored_session(token).pk).update(**stored)
        caches[get_settings().cache_alias].set(entry_key(payload["sid"]), stored)
    else:
        client.cookies[settings.SESSION_COOKIE_NAME] = encode(payload)
    return payload


# -- strategies -----------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that use the ``strategy`` fixture run once per strategy, unless marked
    ``@pytest.mark.strategies("jwt")`` (what they test exists in one strategy only)."""
    if "strategy" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("strategies")
        metafunc.parametrize("strategy", marker.args if marker else STRATEGIES, indirect=True)


@pytest.fixture
def strategy(request: pytest.FixtureRequest, settings: Any) -> str:
    """The session strategy under test (``JWTSESSION["STRATEGY"]``)."""
    value: str = getattr(request, "param", "jwt")
    settings.JWTSESSION = {**settings.JWTSESSION, "STRATEGY": value}
    return value


def drop_deleted_cookies(client: Client, response: HttpResponseBase) -> None:
    """Forget the cookies ``response`` deleted, as a browser does (the test client keeps them)."""
    for name, morsel in response.cookies.items():
        if morsel["max-age"] == 0:
            client.cookies.pop(name, None)


@pytest.fixture
def cache_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the calls made on the real cache backend (outermost calls only) during a test."""
    calls: list[str] = []
    depth = 0
    backend = type(caches[get_settings().cache_alias])

    def counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if depth == 0:
                calls.append(name)
            depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth -= 1

        @functools.wraps(method)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if depth == 0:
                calls.append(name)
            depth += 1
            try:
                return await method(*args, **kwargs)
            finally:
                depth -= 1

        return async_wrapper if inspect.iscoroutinefunction(method) else sync_wrapper

    for name in _CACHE_METHODS:
        for variant in (name, f"a{name}"):
            method = getattr(backend, variant, None)
            if method is not None:
                monkeypatch.setattr(backend, variant, counting(variant, method))
    return calls


Configure = Callable[..., None]

DEAD_REDIS = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",  # nobody listens there
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
}


def add_dead_cache(settings: Any) -> None:
    """Add the cache alias ``"down"``: a Redis nobody listens on (restored by ``settings``)."""
    settings.CACHES = {**settings.CACHES, "down": DEAD_REDIS}


@pytest.fixture
def configure(settings: Any) -> Configure:
    """Merge values into ``JWTSESSION`` (restored by the ``settings`` fixture)."""

    def apply(**values: Any) -> None:
        settings.JWTSESSION = {**settings.JWTSESSION, **values}

    return apply


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


RECORD_TABLE = "django_jwtsession_sessionrecord"


@contextmanager
def refresh_queries(claims: int, records: int = 1) -> Iterator[None]:
    """Assert a block's queries: at most ``claims`` outside the session record table
    (rebuilding the claims) and exactly ``records`` writes to it (its upsert)."""
    with CaptureQueriesContext(connection) as captured:
        yield
    sql = [query["sql"] for query in captured.captured_queries]
    written = [query for query in sql if RECORD_TABLE in query]
    others = [query for query in sql if RECORD_TABLE not in query]
    assert len(written) == records, f"{len(written)} session record writes:\n" + "\n".join(sql)
    assert all(query.startswith(("INSERT", "UPDATE")) for query in written), written
    assert len(others) <= claims, f"{len(others)} queries besides the record:\n" + "\n".join(sql)
