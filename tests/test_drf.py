"""The REST framework integration: authentication, permissions, the session endpoints, JWKS."""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from django_jwtsession.contrib.rest_framework.authentication import TOKEN_HEADER
from django_jwtsession.contrib.rest_framework.throttling import DEFAULT_LOGIN_RATE, LOGIN_SCOPE
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord
from django_jwtsession.revocation import mark_for_refresh
from tests.helpers import (
    PASSWORD,
    Configure,
    client_session_id,
    make_user,
    resign_session,
    session_token,
    set_roles,
    token_session_id,
)
from tests.keyfiles import private_pem

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]

COOKIE = settings.SESSION_COOKIE_NAME
CHALLENGE = 'Bearer realm="api"'
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_login(username: str = "bob", **headers: str) -> str:
    """Log in through the API asking for the token (a Bearer client); return it."""
    response = Client().post(
        "/api/session/",
        {"username": username, "password": PASSWORD, "token": True},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    token: str = response.json()["token"]
    return token


def csrf_client(user: User | None = None) -> Client:
    """A client that enforces CSRF, holding the CSRF cookie (and signed in as ``user``)."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    assert client.get("/api/session/").status_code == 200  # sets the CSRF cookie
    assert "csrftoken" in client.cookies
    return client


def csrf_header(client: Client) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies["csrftoken"].value}


def cookie_deleted(response: Any) -> bool:
    return COOKIE in response.cookies and response.cookies[COOKIE]["max-age"] == 0


def echo(client: Client, token: str | None = None) -> Any:
    return client.get("/drf/echo/", headers=bearer(token) if token else {})


# -- authentication: the cookie ----------------------------------------------------------


def test_the_cookie_user_is_the_middlewares_and_costs_no_query(
    bob_client: Client, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    with django_assert_num_queries(0):
        response = echo(bob_client)
    assert response.json() == {"username": "bob", "bearer": False, "roles": ["editor"]}
    assert cache_calls == ["get_many"]  # one state check: the session was loaded once


@pytest.mark.parametrize("method", ["post", "delete"])
def test_a_cookie_authenticated_unsafe_request_needs_the_csrf_token(bob: User, method: str) -> None:
    client = csrf_client(bob)
    refused = getattr(client, method)("/drf/echo/")
    assert refused.status_code == 403
    assert "CSRF Failed" in refused.json()["detail"]
    allowed = getattr(client, method)("/drf/echo/", headers=csrf_header(client))
    assert allowed.status_code == 200
    assert allowed.json()["username"] == "bob"


def test_no_header_and_no_session_is_anonymous() -> None:
    response = echo(Client())
    assert response.status_code == 401  # NotAuthenticated: the class sends a challenge
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert Client().get("/api/session/").json() == {"claims": None, "session": None}


# -- authentication: Bearer ----------------------------------------------------------------


def test_a_bearer_request_needs_no_csrf_token(bob: User) -> None:
    token = token_login()
    client = Client(enforce_csrf_checks=True)
    for method in ("get", "post", "delete"):
        response = getattr(client, method)("/drf/echo/", headers=bearer(token))
        assert response.status_code == 200, method
        assert response.json() == {"username": "bob", "bearer": True, "roles": ["editor"]}


def test_a_bearer_request_makes_no_query_in_the_steady_state(
    bob: User, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    token = token_login()
    client = Client()
    for _ in range(2):
        cache_calls.clear()
        with django_assert_num_queries(0):
            response = echo(client, token)
        assert response.json()["username"] == "bob"
        assert TOKEN_HEADER not in response.headers
        assert cache_calls == ["get_many"]  # the state check, nothing saved
    with django_assert_num_queries(0):
        assert client.get("/api/session/", headers=bearer(token)).status_code == 200


def test_the_bearer_token_is_the_session_cookies_value(bob_client: Client) -> None:
    response = echo(Client(), session_token(bob_client))
    assert response.json()["username"] == "bob"


def test_a_bearer_token_wins_over_the_cookie(bob_client: Client) -> None:
    make_user("carol", tier="free")
    response = echo(bob_client, token_login("carol"))
    assert response.json() == {"username": "carol", "bearer": True, "roles": []}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer two parts",
        "Bearer not-a-session",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
        "Bearer d1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer tök",
    ],
)
def test_a_bad_bearer_token_is_a_401_with_a_challenge(bob: User, header: str) -> None:
    response = Client().get("/drf/echo/", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_a_tampered_bearer_token_is_a_401(bob: User) -> None:
    token = token_login()
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert echo(Client(), tampered).status_code == 401


def test_a_revoked_bearer_token_is_a_401(bob: User) -> None:
    token = token_login()
    assert Client().delete("/api/session/", headers=bearer(token)).status_code == 204
    response = echo(Client(), token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_an_expired_bearer_token_is_a_401(bob: User) -> None:
    holder = Client()
    holder.cookies[COOKIE] = token_login()
    now = int(time.time())
    resign_session(holder, iat=now - 7200, exp=now - 60)
    assert echo(Client(), session_token(holder)).status_code == 401


def test_a_deactivated_users_bearer_token_is_a_401(bob: User) -> None:
    token = token_login()
    User.objects.filter(pk=bob.pk).update(is_active=False)
    mark_for_refresh(bob)
    assert echo(Client(), token).status_code == 401


def test_claims_rebuilt_for_a_bearer_request_come_back_as_a_new_token(
    bob: User, strategy: str, django_assert_num_queries: Any
) -> None:
    holder = Client()
    holder.cookies[COOKIE] = token_login()
    resign_session(holder, cat=int(time.time()) - 3600)  # claims older than CLAIMS_TTL
    token = session_token(holder)
    response = echo(Client(), token)
    assert response.status_code == 200
    if strategy == "jwt":  # the token carries the claims: the client must take the new one
        assert response.headers[TOKEN_HEADER] != token
        assert response.headers["Cache-Control"] == "no-store"
    else:  # the db strategy saved them server-side, under the same key
        assert TOKEN_HEADER not in response.headers
    token = response.headers.get(TOKEN_HEADER, token)
    with django_assert_num_queries(0):
        assert echo(Client(), token).json()["username"] == "bob"


# -- permissions -------------------------------------------------------------------------------

BOB_OUTCOMES = {  # bob: role editor, tier pro, flag beta
    "editor": 200,
    "admin": 403,
    "admin-and-editor": 403,
    "admin-or-editor": 200,
    "pro": 200,
    "enterprise": 403,
    "beta": 200,
    "beta-or-gamma": 200,
    "beta-and-gamma": 403,
    "admin-and-beta": 403,
    "admin-or-beta": 200,
    "editor-and-pro": 200,
    "not-beta": 403,
}


@pytest.mark.parametrize(("name", "expected"), sorted(BOB_OUTCOMES.items()))
def test_permissions_and_their_compositions_read_claims_only(
    bob_client: Client, name: str, expected: int, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert bob_client.get(f"/drf/{name}/").status_code == expected
        assert bob_client.post(f"/drf/{name}/").status_code == expected  # object level too


@pytest.mark.parametrize(("name", "expected"), sorted(BOB_OUTCOMES.items()))
def test_permissions_for_a_bearer_client(bob: User, name: str, expected: int) -> None:
    token = token_login()
    assert Client().get(f"/drf/{name}/", headers=bearer(token)).status_code == expected


@pytest.mark.parametrize("name", sorted(set(BOB_OUTCOMES) - {"not-beta"}))
def test_anonymous_requests_are_401(db: None, name: str) -> None:
    response = Client().get(f"/drf/{name}/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_not_is_applied_at_both_levels(db: None) -> None:
    carol = Client()
    carol.force_login(make_user("carol", tier="free"))
    assert carol.get("/drf/not-beta/").status_code == 200
    assert carol.post("/drf/not-beta/").status_code == 200


def test_role_hierarchy_and_tier_order(configure: Configure) -> None:
    configure(ROLE_HIERARCHY={"admin": ["editor"]}, TIER_ORDER=["free", "pro", "enterprise"])
    alice = Client()
    alice.force_login(make_user("alice", roles=("admin",), tier="enterprise"))
    assert alice.get("/drf/editor/").status_code == 200  # admin implies editor
    assert alice.get("/drf/pro/").status_code == 200  # enterprise is above pro
    bob = Client()
    bob.force_login(make_user("bob", roles=("editor",), tier="pro"))
    assert bob.get("/drf/admin/").status_code == 403
    assert bob.get("/drf/enterprise/").status_code == 403


def test_superusers_have_every_role(db: None) -> None:
    root = Client()
    root.force_login(make_user("root", is_superuser=True, is_staff=True))
    assert root.get("/drf/admin-and-editor/").status_code == 200
    assert root.get("/drf/beta/").status_code == 403  # flags are not free


def test_a_view_without_its_requirement_is_a_configuration_error(bob_client: Client) -> None:
    with pytest.raises(ImproperlyConfigured, match="required_roles"):
        bob_client.get("/drf/no-requirement/")


# -- POST /session/: log in ----------------------------------------------------------------------


def test_cookie_login_needs_the_csrf_token_and_sets_the_cookie(
    bob: User, django_assert_num_queries: Any
) -> None:
    client = csrf_client()
    credentials = {"username": "bob", "password": PASSWORD}
    assert client.post("/api/session/", credentials).status_code == 403
    response = client.post("/api/session/", credentials, headers=csrf_header(client))
    assert response.status_code == 200
    body = response.json()
    assert "token" not in body
    assert body["claims"]["roles"] == ["editor"]
    assert body["session"]["transport"] == "cookie"
    assert response.cookies[COOKIE].value
    assert body["session"]["id"] == session_hash(client_session_id(client))
    with django_assert_num_queries(0):
        assert echo(client).json()["username"] == "bob"


@pytest.mark.parametrize("ask", ["body", "query"])
def test_token_login_returns_the_token_and_sets_no_cookie(bob: User, ask: str) -> None:
    client = Client(enforce_csrf_checks=True)  # no CSRF token needed: no cookie is set
    data: dict[str, Any] = {"username": "bob", "password": PASSWORD}
    if ask == "body":
        response = client.post(
            "/api/session/", {**data, "token": True}, content_type="application/json"
        )
    else:
        response = client.post("/api/session/?token=1", data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert COOKIE not in response.cookies
    assert "csrftoken" not in response.cookies  # the CSRF token is the cookie side's
    assert response.headers["Cache-Control"] == "no-store"
    assert body["session"]["transport"] == "bearer"
    assert body["session"]["id"] == session_hash(token_session_id(body["token"]))
    assert body["claims"]["tier"] == "pro"
    assert echo(Client(), body["token"]).json()["bearer"] is True


def test_token_login_writes_a_session_record(bob: User) -> None:
    token = token_login(**{"User-Agent": IPHONE})
    record = SessionRecord.objects.get(session_hash=session_hash(token_session_id(token)))
    assert (record.user_id, record.user_agent, record.ip) == (bob.pk, IPHONE, "127.0.0.1")


@pytest.mark.parametrize(
    "data",
    [
        {"username": "bob", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "bob"},
        {"password": PASSWORD},
    ],
)
def test_login_with_wrong_or_missing_credentials_is_a_400(bob: User, data: dict[str, Any]) -> None:
    response = Client().post("/api/session/?token=1", data)
    assert response.status_code == 400
    assert "token" not in response.json()


def test_an_inactive_user_cannot_log_in(db: None) -> None:
    make_user("dora", is_active=False)
    response = Client().post("/api/session/?token=1", {"username": "dora", "password": PASSWORD})
    assert response.status_code == 400


def test_login_is_throttled_at_the_configured_rate(bob: User) -> None:
    rest_framework = {"DEFAULT_THROTTLE_RATES": {LOGIN_SCOPE: "2/minute"}}
    client = Client()
    with override_settings(REST_FRAMEWORK=rest_framework):
        for _ in range(2):
            assert client.post("/api/session/?token=1", {"username": "bob"}).status_code == 400
        response = client.post("/api/session/?token=1", {"username": "bob", "password": PASSWORD})
        assert response.status_code == 429
        assert "Retry-After" in response.headers
        assert client.get("/api/session/").status_code == 200  # only logging in is throttled


def test_login_is_throttled_by_default(bob: User) -> None:
    allowed = int(DEFAULT_LOGIN_RATE.split("/")[0])
    client = Client()
    data = {"username": "bob", "password": "wrong"}
    for _ in range(allowed):
        assert client.post("/api/session/?token=1", data).status_code == 400
    assert client.post("/api/session/?token=1", data).status_code == 429


# -- GET and DELETE /session/ --------------------------------------------------------------------


def test_get_session_returns_claims_and_metadata_without_a_query(
    bob_client: Client, strategy: str, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        body = bob_client.get("/api/session/").json()
    assert body["claims"] == {
        "user_id": str(User.objects.get(username="bob").pk),
        "username": "bob",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "roles": ["editor"],
        "tier": "pro",
        "flags": ["beta"],
        "extra": {},
    }
    session = body["session"]
    assert session["id"] == session_hash(client_session_id(bob_client))
    assert (session["strategy"], session["transport"]) == (strategy, "cookie")
    assert session["created"] <= session["claims_at"] < session["expires"]


def test_cookie_logout_needs_csrf_revokes_and_deletes_the_cookie(bob: User) -> None:
    client = csrf_client(bob)
    old_token = session_token(client)
    assert client.delete("/api/session/").status_code == 403
    response = client.delete("/api/session/", headers=csrf_header(client))
    assert response.status_code == 204
    assert cookie_deleted(response)
    assert echo(Client(), old_token).status_code == 401  # revoked server-side, not just forgotten
    record = SessionRecord.objects.get(session_hash=session_hash(token_session_id(old_token)))
    assert record.revoked_at is not None


def test_bearer_logout_leaves_the_cookie_session_alone(bob_client: Client) -> None:
    token = token_login()
    response = bob_client.delete("/api/session/", headers=bearer(token))
    assert response.status_code == 204
    assert COOKIE not in response.cookies
    assert echo(Client(), token).status_code == 401
    assert echo(bob_client).json()["username"] == "bob"


def test_logout_needs_a_session(db: None) -> None:
    assert Client().delete("/api/session/").status_code == 401


# -- POST /session/refresh/ ----------------------------------------------------------------------


def refresh(client: Client, force: bool | None = None, token: str | None = None) -> Any:
    data = {} if force is None else {"force": force}
    headers = bearer(token) if token else {}
    return client.post(
        "/api/session/refresh/", data, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize("force", [None, False])
def test_refresh_of_fresh_claims_does_nothing(
    bob_client: Client, force: bool | None, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        body = refresh(bob_client, force).json()
    assert (body["refreshed"], body["reason"]) == (False, "fresh")
    assert body["claims"]["roles"] == ["editor"]


def test_forced_refresh_picks_up_a_role_change_that_sent_no_signal(
    bob: User, bob_client: Client
) -> None:
    set_roles(bob, [], signal=False)  # no signal, so no mark
    body = refresh(bob_client).json()
    assert body["refreshed"] is False
    assert body["claims"]["roles"] == ["editor"]  # not stale yet: still the old claims
    body = refresh(bob_client, force=True).json()
    assert (body["refreshed"], body["reason"]) == (True, "forced")
    assert body["claims"]["roles"] == []
    assert bob_client.get("/drf/editor/").status_code == 403  # the cookie was re-issued


def test_refresh_after_a_mark_reports_it(bob: User, bob_client: Client) -> None:
    set_roles(bob, [])  # marks bob
    body = refresh(bob_client, force=False).json()
    assert (body["refreshed"], body["reason"]) == (True, "mark")
    assert body["claims"]["roles"] == []


def test_refresh_of_claims_older_than_the_ttl(bob_client: Client) -> None:
    resign_session(bob_client, cat=int(time.time()) - 3600)
    body = refresh(bob_client).json()
    assert (body["refreshed"], body["reason"]) == (True, "ttl")


def test_bearer_refresh_returns_the_token_with_the_new_claims(bob: User) -> None:
    token = token_login()
    set_roles(bob, [], signal=False)
    response = refresh(Client(), force=True, token=token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert (body["refreshed"], body["claims"]["roles"]) == (True, [])
    again = Client().get("/api/session/", headers=bearer(body["token"])).json()
    assert again["claims"]["roles"] == []
    body = refresh(Client(), token=body["token"]).json()
    assert (body["refreshed"], body["reason"], "token" in body) == (False, "fresh", True)


def test_bearer_refresh_after_a_mark(bob: User) -> None:
    token = token_login()
    set_roles(bob, [])
    body = refresh(Client(), token=token).json()
    assert (body["refreshed"], body["reason"], body["claims"]["roles"]) == (True, "mark", [])
    assert Client().get("/drf/editor/", headers=bearer(body["token"])).status_code == 403


def test_forced_refresh_of_a_deactivated_user_ends_the_session(
    bob: User, bob_client: Client
) -> None:
    User.objects.filter(pk=bob.pk).update(is_active=False)  # no signal: still signed in
    assert echo(bob_client).status_code == 200
    response = refresh(bob_client, force=True)
    assert response.status_code == 401
    assert cookie_deleted(response)


def test_refresh_needs_a_session(db: None) -> None:
    assert refresh(Client(), force=True).status_code == 401


def test_refresh_rejects_a_malformed_force(bob_client: Client) -> None:
    response = bob_client.post(
        "/api/session/refresh/", {"force": "perhaps"}, content_type="application/json"
    )
    assert response.status_code == 400


# -- /sessions/ ----------------------------------------------------------------------------------


def test_my_sessions_are_listed_with_the_current_one_flagged(bob: User) -> None:
    laptop = Client(headers={"User-Agent": FIREFOX})
    response = laptop.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    phone_token = token_login(**{"User-Agent": IPHONE})
    make_user("carol")
    Client().force_login(User.objects.get(username="carol"))  # not bob's
    response = laptop.get("/api/sessions/")
    assert response.status_code == 200
    listed = {row["id"]: row for row in response.json()}
    laptop_id = session_hash(client_session_id(laptop))
    phone_id = session_hash(token_session_id(phone_token))
    assert set(listed) == {laptop_id, phone_id}
    assert listed[laptop_id]["current"] is True
    assert listed[phone_id]["current"] is False
    assert (listed[laptop_id]["os"], listed[laptop_id]["browser"]) == ("Linux", "Firefox 128")
    assert listed[phone_id]["device"] == "iPhone"
    assert listed[phone_id]["ip"] == "127.0.0.1"
    assert {"created", "last_seen", "expires", "strategy"} <= set(listed[phone_id])
    by_bearer = Client().get("/api/sessions/", headers=bearer(phone_token)).json()
    assert [row["id"] for row in by_bearer if row["current"]] == [phone_id]


ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.mark.parametrize("use_tz", [True, False])
def test_every_timestamp_is_iso_8601_utc_to_the_second(
    bob: User, settings: Any, use_tz: bool
) -> None:
    """One format in every answer, whatever TIME_ZONE, USE_TZ or DRF's DATETIME_FORMAT say."""
    settings.TIME_ZONE = "Asia/Kathmandu"  # +05:45: an offset nobody rounds to
    settings.USE_TZ = use_tz
    settings.REST_FRAMEWORK = {"DATETIME_FORMAT": "%d/%m/%Y %H:%M"}
    client = Client(headers={"User-Agent": "curl/8.5.0"})
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    session = client.get("/api/session/").json()["session"]
    [listed] = client.get("/api/sessions/").json()
    refreshed = client.post("/api/session/refresh/", {"force": True}, "application/json").json()
    stamps = [
        *(session[name] for name in ("created", "expires", "claims_at")),
        *(listed[name] for name in ("created", "last_seen", "expires")),
        *(refreshed["session"][name] for name in ("created", "expires", "claims_at")),
    ]
    assert all(ISO_UTC.fullmatch(stamp) for stamp in stamps), stamps
    now = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    assert session["created"][:16] <= now <= session["expires"][:16]  # UTC, not local time
    assert listed["created"] == session["created"]


def test_what_the_user_agent_does_not_tell_is_null(bob: User) -> None:
    client = Client(headers={"User-Agent": "curl/8.5.0"})
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    [listed] = client.get("/api/sessions/").json()
    assert listed["device"] is None
    assert listed["os"] is None
    assert listed["browser"] == "curl 8"


def test_revoked_sessions_are_not_listed(bob: User, bob_client: Client) -> None:
    other = token_login()
    assert len(bob_client.get("/api/sessions/").json()) == 2
    Client().delete("/api/session/", headers=bearer(other))
    assert len(bob_client.get("/api/sessions/").json()) == 1


def test_sessions_need_a_session(db: None) -> None:
    assert Client().get("/api/sessions/").status_code == 401


def test_revoke_one_of_my_sessions(bob: User) -> None:
    client = csrf_client(bob)
    other = token_login()
    other_id = session_hash(token_session_id(other))
    url = f"/api/sessions/{other_id}/"
    assert client.delete(url).status_code == 403  # the cookie needs the CSRF token
    assert client.delete(url, headers=csrf_header(client)).status_code == 204
    assert echo(Client(), other).status_code == 401
    assert echo(client).status_code == 200  # this one stays
    assert client.delete(url, headers=csrf_header(client)).status_code == 404  # gone now


def test_revoking_the_current_session_logs_out(bob_client: Client) -> None:
    current = session_hash(client_session_id(bob_client))
    response = bob_client.delete(f"/api/sessions/{current}/")
    assert response.status_code == 204
    assert cookie_deleted(response)
    assert echo(bob_client).status_code == 401


@pytest.mark.parametrize("session_id", ["carols", "0" * 64, "not-a-hash", "A" * 64, "0" * 63])
def test_another_users_or_a_malformed_session_id_is_a_404(
    bob_client: Client, session_id: str
) -> None:
    carol_token = token_login_for_new_user("carol")
    if session_id == "carols":
        session_id = session_hash(token_session_id(carol_token))
    response = bob_client.delete(f"/api/sessions/{session_id}/")
    assert response.status_code == 404
    assert echo(Client(), carol_token).status_code == 200  # untouched


def token_login_for_new_user(username: str) -> str:
    make_user(username, tier="free")
    return token_login(username)


def test_revoke_others_keeps_this_cookie_session(bob: User, django_assert_num_queries: Any) -> None:
    client = csrf_client(bob)
    other_cookie = Client()
    other_cookie.force_login(bob)
    other_token = token_login()
    assert client.post("/api/sessions/revoke-others/").status_code == 403
    response = client.post("/api/sessions/revoke-others/", headers=csrf_header(client))
    assert response.status_code == 204
    assert echo(other_cookie).status_code == 401
    assert echo(Client(), other_token).status_code == 401
    assert echo(client).json()["username"] == "bob"
    assert [row["current"] for row in client.get("/api/sessions/").json()] == [True]


def test_revoke_others_by_a_bearer_client_returns_its_new_token(bob_client: Client) -> None:
    token = token_login()
    response = Client().post("/api/sessions/revoke-others/", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new_token = response.json()["token"]
    assert token_session_id(new_token) == token_session_id(token)  # the same session
    assert echo(Client(), new_token).json()["username"] == "bob"
    assert echo(bob_client).status_code == 401


# -- JWKS --------------------------------------------------------------------------------------


def test_no_jwks_with_hmac_keys(db: None) -> None:
    response = Client().get("/api/.well-known/jwks.json")
    assert response.status_code == 404


@pytest.mark.strategies("jwt")  # db strategy sessions are opaque keys, not JWTs
@pytest.mark.parametrize(("algorithm", "kind"), [("ES256", "p256"), ("RS256", "rsa2048")])
def test_a_token_verifies_with_pyjwt_from_the_jwks_alone(
    bob: User, configure: Configure, algorithm: str, kind: str
) -> None:
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind))
    token = token_login()
    response = Client().get("/api/.well-known/jwks.json")
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]
    jwks = response.json()
    for jwk in jwks["keys"]:
        assert (jwk["alg"], jwk["use"]) == (algorithm, "sig")
        assert "kid" in jwk
        assert "key_ops" not in jwk  # not with "use" (RFC 7517 section 4.3)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
    # What another service does: the key set, the token's kid, pyjwt; no secret shared.
    key_set = jwt.PyJWKSet.from_dict(jwks)
    key = key_set[jwt.get_unverified_header(token)["kid"]]
    payload = jwt.decode(token, key.key, algorithms=[algorithm])
    assert payload["clm"]["un"] == "bob"
    assert payload["clm"]["rol"] == ["editor"]
    assert payload["sid"] == token_session_id(token)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"), key.key, [algorithm])


def test_the_jwks_route_is_named() -> None:
    from django.urls import reverse

    assert reverse("jwtsession:jwks") == "/api/.well-known/jwks.json"


def test_the_login_throttle_ignores_forged_forwarding_headers_and_accounts(
    bob: User, bob_client: Client
) -> None:
    """One budget per client address: neither X-Forwarded-For nor a signed-in caller's
    own account opens a new one."""
    bearer = {"Authorization": f"Bearer {token_login()}"}  # a signed-in API client
    caches["default"].clear()  # (the throttle's counts live in the cache: start afresh)
    rest_framework = {"DEFAULT_THROTTLE_RATES": {LOGIN_SCOPE: "2/minute"}}
    data = {"username": "bob", "password": "wrong"}
    with override_settings(REST_FRAMEWORK=rest_framework):
        for index in range(2):
            response = Client().post(
                "/api/session/?token=1", data, headers={"X-Forwarded-For": f"10.0.0.{index}"}
            )
            assert response.status_code == 400
        forged = Client().post(
            "/api/session/?token=1", data, headers={"X-Forwarded-For": "10.9.9.9"}
        )
        assert forged.status_code == 429
        assert Client().post("/api/session/?token=1", data, headers=bearer).status_code == 429


def test_a_cross_site_login_without_csrf_spends_no_login_budget(bob: User) -> None:
    rest_framework = {"DEFAULT_THROTTLE_RATES": {LOGIN_SCOPE: "2/minute"}}
    with override_settings(REST_FRAMEWORK=rest_framework):
        for _ in range(3):  # cookie mode without the CSRF token: refused before counting
            response = Client(enforce_csrf_checks=True).post(
                "/api/session/", {"username": "bob", "password": PASSWORD}
            )
            assert response.status_code == 403
        good = Client().post("/api/session/?token=1", {"username": "bob", "password": PASSWORD})
        assert good.status_code == 200


def test_the_jwks_is_never_publicly_cacheable_with_a_session_cookie(
    bob_client: Client, configure: Configure
) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256"))
    response = bob_client.get("/api/.well-known/jwks.json")
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]
