"""The middleware stack: zero SQL on the hot path, bad cookies, Django's own engines."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.serializers.json import DjangoJSONEncoder
from django.test import AsyncClient, Client, override_settings

from django_jwtsession.codec import encode
from django_jwtsession.keys import b64url_encode, get_key_ring
from tests.helpers import (
    PASSWORD,
    jwtsession_settings,
    make_user,
    session_token,
    token_header,
    token_payload,
)

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

OTHER_APP_SECRET = "another-application-entirely-9d3e7a1c5b2f8e4d6a0c"
COOKIE = settings.SESSION_COOKIE_NAME


def _flip(text: str, index: int) -> str:
    """Change one base64url character (a middle one carries six full bits)."""
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def _signature_flipped(token: str) -> str:
    header, body, signature = token.split(".")
    return f"{header}.{body}.{_flip(signature, len(signature) // 2)}"


def _payload_flipped(token: str) -> str:
    header, body, signature = token.split(".")
    return f"{header}.{_flip(body, len(body) // 2)}.{signature}"


def _other_app(token: str) -> str:
    """Same shape and kid, signed by another application's key."""
    return jwt.encode(
        token_payload(token),
        OTHER_APP_SECRET,
        algorithm="HS256",
        headers={"kid": token_header(token)["kid"]},
    )


def _other_secret_key(token: str) -> str:
    """Our own codec, under another SECRET_KEY: an unknown kid."""
    payload = token_payload(token)
    with override_settings(SECRET_KEY=OTHER_APP_SECRET):
        return encode(payload)


def _alg_none(token: str) -> str:
    header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{token.split('.')[1]}."


def _extra_header(token: str) -> str:
    """Correctly signed, but with a ``jku`` header."""
    key = get_key_ring().current
    header = {**token_header(token), "jku": "https://attacker.example/jwks.json"}
    signing_input = f"{b64url_encode(json.dumps(header).encode())}.{token.split('.')[1]}"
    signature = key.algorithm.sign(signing_input.encode(), key.sign_key)
    return f"{signing_input}.{b64url_encode(signature)}"


def _encrypted(token: str) -> str:
    payload = token_payload(token)
    with jwtsession_settings(ENCRYPT=True):
        return encode(payload)


def _expired(token: str) -> str:
    now = int(time.time())
    return encode({**token_payload(token), "sat": now - 900, "iat": now - 900, "exp": now - 60})


def _string_exp(token: str) -> str:
    payload = token_payload(token)
    return encode({**payload, "exp": str(payload["exp"])})


def _malformed_claims(token: str) -> str:
    payload = token_payload(token)
    return encode({**payload, "clm": {**payload["clm"], "uid": 1, "rol": "admin"}})


BAD_COOKIES: dict[str, Callable[[str], str]] = {
    "empty": lambda token: "",
    "dot": lambda token: ".",
    "three-segments": lambda token: "a.b.c",
    "random-base64": lambda token: base64.urlsafe_b64encode(os.urandom(300)).decode(),
    "flipped-signature": _signature_flipped,
    "flipped-payload": _payload_flipped,
    "other-app-key": _other_app,
    "other-secret-key": _other_secret_key,
    "oversized-100kb": lambda token: token + "A" * 100_000,
    "non-ascii": lambda token: "ключ.ü.€",
    "alg-none": _alg_none,
    "jku-header": _extra_header,
    "jwe-when-encryption-off": _encrypted,
    "expired": _expired,
    "string-exp": _string_exp,
    "malformed-claims": _malformed_claims,
}


def _as_wsgi(value: str) -> str:
    """A cookie header value as a WSGI server hands it over (UTF-8 bytes read as latin-1)."""
    return value.encode().decode("latin-1")


def _assert_session_cookie_deleted(response: Any, name: str = COOKIE) -> None:
    morsel = response.cookies[name]
    assert morsel.value == ""
    assert morsel["max-age"] == 0


# -- the hot path --------------------------------------------------------------------------------


def test_hot_path_costs_no_sql_sync(
    bob: User, bob_client: Client, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    cache_calls.clear()
    with django_assert_num_queries(0):
        response = bob_client.get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {
        "authenticated": True,
        "id": json.loads(json.dumps(bob.pk, cls=DjangoJSONEncoder)),  # a UUID as a string
        "username": "bob",
        "is_staff": False,
        "is_superuser": False,
        "roles": ["editor"],
        "tier": "pro",
        "flags": ["beta"],
    }
    assert len(cache_calls) <= 1
    assert COOKIE not in response.cookies


def test_hot_path_costs_no_sql_async(bob_client: Client, django_assert_num_queries: Any) -> None:
    client = AsyncClient()
    client.cookies = bob_client.cookies
    with django_assert_num_queries(0):
        response = async_to_sync(client.get)("/async-whoami/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "username": "bob"}
    assert COOKIE not in response.cookies


def test_async_login_then_hot_path(bob: User, django_assert_num_queries: Any) -> None:
    client = AsyncClient()
    assert async_to_sync(client.alogin)(username="bob", password=PASSWORD)
    with django_assert_num_queries(0):
        response = async_to_sync(client.get)("/async-whoami/")
    assert response.json() == {"authenticated": True, "username": "bob"}


@pytest.mark.django_db
def test_no_cookie_is_anonymous_without_io(
    client: Client, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/whoami/")
    assert response.json() == {"authenticated": False}
    assert COOKIE not in response.cookies
    assert cache_calls == []


# -- bad cookies ---------------------------------------------------------------------------------


@pytest.fixture
def valid_token(bob_client: Client) -> str:
    return session_token(bob_client)


@pytest.mark.strategies("jwt")  # a db key must be looked up: see test_bad_db_key_is_anonymous
@pytest.mark.parametrize("make_bad", BAD_COOKIES.values(), ids=BAD_COOKIES.keys())
def test_bad_cookie_is_anonymous_and_deleted_without_io(
    make_bad: Callable[[str], str],
    valid_token: str,
    django_assert_num_queries: Any,
    cache_calls: list[str],
) -> None:
    bad = make_bad(valid_token)
    client = Client(raise_request_exception=True)
    cache_calls.clear()
    with django_assert_num_queries(0):
        response = client.get("/whoami/", headers={"Cookie": _as_wsgi(f"{COOKIE}={bad}")})
    assert cache_calls == []
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    _assert_session_cookie_deleted(response)


def test_the_raw_cookie_header_path_accepts_a_good_token(valid_token: str) -> None:
    """Control for the bad-cookie tests: the same path with the valid token signs in."""
    response = Client().get("/whoami/", headers={"Cookie": _as_wsgi(f"{COOKIE}={valid_token}")})
    assert response.json()["username"] == "bob"
    assert COOKIE not in response.cookies


@pytest.mark.strategies("jwt")
@pytest.mark.parametrize("make_bad", BAD_COOKIES.values(), ids=BAD_COOKIES.keys())
def test_bad_cookie_then_write_starts_a_fresh_session(
    make_bad: Callable[[str], str], valid_token: str
) -> None:
    """A view that writes to a session whose cookie was refused starts a new, empty one."""
    bad = make_bad(valid_token)
    response = Client().get("/set/?color=blue", headers={"Cookie": _as_wsgi(f"{COOKIE}={bad}")})
    assert response.status_code == 200
    payload = token_payload(response.cookies[COOKIE].value)
    assert payload["dat"] == {"color": "blue"}
    assert "clm" not in payload


@pytest.mark.strategies("jwt")  # a db session's cookie is short: never chunked
def test_tampered_chunk_deletes_every_chunk(bob_client: Client) -> None:
    response = bob_client.get("/set-big/?size=4000")
    chunks = [name for name in response.cookies if name.startswith(f"{COOKIE}.")]
    assert chunks
    bob_client.cookies[chunks[0]] = _flip(bob_client.cookies[chunks[0]].value, 100)
    response = bob_client.get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    for name in (COOKIE, *chunks):
        _assert_session_cookie_deleted(response, name)


def _db_key_variants(key: str, other_user_hint: str) -> dict[str, str]:
    prefix, secret, hint = key.split(".")
    return {
        "unknown-secret": f"{prefix}.{'A' * 43}.{hint}",
        "flipped-secret": f"{prefix}.{_flip(secret, 5)}.{hint}",
        "other-users-hint": f"{prefix}.{secret}.{other_user_hint}",
        "no-hint": f"{prefix}.{secret}",
        "bad-hint": f"{prefix}.{secret}.%%%",
        "undecodable-hint": f"{prefix}.{secret}.gA",
        "short-secret": f"{prefix}.{secret[:-1]}.{hint}",
        "other-version": f"d9.{secret}.{hint}",
    }


@pytest.mark.strategies("db")
def test_bad_db_key_is_anonymous_and_deleted(
    bob_client: Client, django_assert_max_num_queries: Any, cache_calls: list[str]
) -> None:
    """A well-formed key costs at most one lookup (one cache call, one query), like Django's;
    a well-formed key that names no session is remembered (one ``add``), so repeating it
    costs one cache call and no query."""
    carol = Client()
    carol.force_login(make_user("carol"))
    other_hint = session_token(carol).split(".")[2]
    for name, bad in _db_key_variants(session_token(bob_client), other_hint).items():
        cache_calls.clear()
        with django_assert_max_num_queries(1):
            response = Client(raise_request_exception=True).get(
                "/whoami/", headers={"Cookie": _as_wsgi(f"{COOKIE}={bad}")}
            )
        assert cache_calls in (["get_many"], ["get_many", "add"], []), name
        assert response.status_code == 200, name
        assert response.json() == {"authenticated": False}, name
        _assert_session_cookie_deleted(response)
        response = Client().get("/set/?color=blue", headers={"Cookie": _as_wsgi(f"{COOKIE}={bad}")})
        payload = token_payload(response.cookies[COOKIE].value)  # a fresh, anonymous session
        assert (payload["dat"], "clm" in payload) == ({"color": "blue"}, False), name
        cache_calls.clear()
        with django_assert_max_num_queries(0):  # the miss was remembered
            Client().get("/whoami/", headers={"Cookie": _as_wsgi(f"{COOKIE}={bad}")})
        assert len(cache_calls) <= 1, name
    assert bob_client.get("/whoami/").json()["username"] == "bob"  # the real key still works


# -- Django's own session engines ----------------------------------------------------------------


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def test_with_django_db_engine_it_behaves_as_djangos_own(
    bob: User, django_assert_num_queries: Any
) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert Session.objects.count() == 1
    assert len(client.cookies[COOKIE].value) == 32  # an opaque key, not a token
    with django_assert_num_queries(2):  # Django's own: the session row, then the user
        response = client.get("/user/")
    assert response.json() == {
        "authenticated": True,
        "username": "bob",
        "email": "bob@example.com",
    }
    response = client.post("/accounts/logout/")
    assert response.status_code == 200
    assert Session.objects.count() == 0
    assert client.get("/user/").json()["authenticated"] is False


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
def test_with_django_signed_cookies_engine_login_works(bob: User) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    assert client.get("/user/").json()["username"] == "bob"
    client.post("/accounts/logout/")
    assert client.get("/user/").json()["authenticated"] is False
