"""The fresh-login guards: ``fresh_login_required``, ``FreshLoginRequiredMixin`` and REST
framework's ``HasFreshLogin`` send a session whose sign-in is too old to sign in again,
keeping it signed in, from the session alone (no query). Under both strategies; the clock
is moved with the ``clock`` fixture."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_jwtsession import FreshLoginRequiredMixin, fresh_login_required
from tests.helpers import (
    PASSWORD,
    Clock,
    Configure,
    client_session_id,
    make_user,
    resign_session,
    session_token,
    token_payload,
)
from tests.testapp.fresh_views import MAX_AGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
COOKIE = settings.SESSION_COOKIE_NAME
LOGIN = "/accounts/login/"
JSON = {"Accept": "application/json"}
STALE = MAX_AGE + 1

SYNC_AND_ASYNC = ["/fresh/view/", "/fresh/async/", "/fresh/cbv/", "/fresh/async/cbv/"]


def signed_in(username: str = "bob") -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def sign_in_again(client: Client, next_url: str, username: str = "bob") -> Any:
    form = {"username": username, "password": PASSWORD, "next": next_url}
    return client.post(LOGIN, form)


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


@pytest.mark.parametrize("url", SYNC_AND_ASYNC)
def test_a_recent_sign_in_passes_with_no_query_and_one_round_trip(
    bob: Any, url: str, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    client = signed_in()
    cache_calls.clear()
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "username": "bob"}
    assert cache_calls == ["get_many"]


@pytest.mark.parametrize("url", SYNC_AND_ASYNC)
def test_an_old_sign_in_is_sent_to_sign_in_again_and_stays_signed_in(
    bob: Any, clock: Clock, url: str, configure: Configure
) -> None:
    configure(CLAIMS_TTL=7200)  # no refresh on the way: the guard alone answers
    client = signed_in()
    clock.advance(STALE)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"
    assert COOKIE not in response.cookies  # nothing written: still signed in
    assert whoami(client)["username"] == "bob"


@pytest.mark.parametrize("url", SYNC_AND_ASYNC)
def test_signing_in_again_returns_to_the_page_in_the_same_session(
    bob: Any, clock: Clock, url: str
) -> None:
    client = signed_in()
    before = token_payload(session_token(client))
    clock.advance(STALE)
    assert client.get(url).status_code == 302
    response = sign_in_again(client, url)
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.get(url).status_code == 200
    after = token_payload(session_token(client))
    assert after["sid"] == before["sid"]  # re-authenticating as the same user keeps the session
    assert after["sat"] == before["sat"]  # and its start: MAX_LIFETIME still counts from it
    assert after["aat"] >= before["aat"] + STALE


def test_the_sign_in_age_counts_from_the_last_sign_in_not_the_start(bob: Any, clock: Clock) -> None:
    client = signed_in()
    clock.advance(STALE)
    sign_in_again(client, "/fresh/view/")
    clock.advance(MAX_AGE - 10)  # (a margin: the real clock moves on too)
    assert client.get("/fresh/view/").status_code == 200
    clock.advance(11)
    assert client.get("/fresh/view/").status_code == 302


def test_another_user_signing_in_starts_a_fresh_session(bob: Any, clock: Clock) -> None:
    make_user("carol")
    client = signed_in()
    old_id = client_session_id(client)
    clock.advance(STALE)
    assert sign_in_again(client, "/fresh/view/", username="carol").status_code == 302
    assert client.get("/fresh/view/").json()["username"] == "carol"
    assert client_session_id(client) != old_id


def test_a_session_from_before_the_sign_in_time_counts_from_its_start(
    bob: Any, clock: Clock
) -> None:
    """Sessions issued before ``aat`` existed were signed in when they started (``sat``)."""
    client = signed_in()
    resign_session(client, without=("aat",))
    assert "aat" not in token_payload(session_token(client))
    assert client.get("/fresh/view/").status_code == 200
    resign_session(client, sat=clock.now() - STALE)
    assert client.get("/fresh/view/").status_code == 302


def test_a_refresh_or_re_issue_keeps_the_sign_in_time(bob: Any, clock: Clock) -> None:
    client = signed_in()
    signed_in_at = token_payload(session_token(client))["aat"]
    clock.advance(STALE)  # past CLAIMS_TTL (300): the claims are rebuilt, the token re-issued
    response = client.get("/whoami/")
    assert response.json()["username"] == "bob"
    assert token_payload(response.cookies[COOKIE].value)["aat"] == signed_in_at
    assert client.get("/fresh/view/").status_code == 302


# -- the answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/fresh/view/", "/fresh/cbv/"])
def test_a_request_that_wants_json_gets_a_401_with_a_code(bob: Any, clock: Clock, url: str) -> None:
    client = signed_in()
    clock.advance(STALE)
    response = client.get(url, headers=JSON)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This needs a sign-in within the last 5 minutes: sign in again.",
        "code": "fresh_login_required",
        "max_age": MAX_AGE,
        "login_url": f"{LOGIN}?next={url}",
    }
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith(f'Cookie form-action="{LOGIN}"')
    assert challenge.endswith(f'error="insufficient_user_authentication", max_age={MAX_AGE}')


@pytest.mark.parametrize("url", ["/fresh/view/", "/fresh/async/", "/fresh/cbv/"])
def test_anonymous_requests_get_the_usual_answers(db: None, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"
    answer = Client().get(url, headers=JSON)
    assert answer.status_code == 401
    assert "code" not in answer.json()  # not signed in at all: no step-up


@pytest.mark.parametrize("url", ["/fresh/raise/", "/fresh/cbv/raise/"])
def test_raise_exception_gives_a_403_naming_the_requirement(
    bob: Any, clock: Clock, url: str
) -> None:
    client = signed_in()
    assert client.get(url).status_code == 200
    clock.advance(STALE)
    response = client.get(url)
    assert response.status_code == 403
    assert Client().get(url).status_code == 403  # anonymous too, as with the other guards


def test_login_url_is_honoured(bob: Any, clock: Clock) -> None:
    client = signed_in()
    clock.advance(STALE)
    response = client.get("/fresh/login-url/")
    assert response["Location"] == "/elsewhere/login/?next=/fresh/login-url/"


@pytest.mark.parametrize("url", ["/fresh/cbv/admin/", "/fresh/async/cbv/admin/"])
def test_the_mixin_combines_with_the_claim_mixins(bob: Any, clock: Clock, url: str) -> None:
    alice = make_user("alice", roles=("admin",))
    assert alice.pk
    assert signed_in("alice").get(url).status_code == 200
    assert signed_in("bob").get(url).status_code == 403  # fresh, but not an admin
    stale_admin = signed_in("alice")
    clock.advance(STALE)
    assert stale_admin.get(url)["Location"] == f"{LOGIN}?next={url}"


def test_a_mixin_without_a_max_age_names_what_is_missing(bob: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="fresh_login_max_age"):
        signed_in().get("/fresh/cbv/no-max-age/")


@pytest.mark.parametrize("max_age", [0, -1, "300", 1.5, None])
def test_max_age_must_be_seconds_above_zero(max_age: Any) -> None:
    with pytest.raises(ValueError, match="max_age"):
        fresh_login_required(max_age=max_age)

    class View(FreshLoginRequiredMixin):
        fresh_login_max_age = max_age

    if max_age is not None:
        with pytest.raises(ValueError, match="max_age"):
            View().get_fresh_login_max_age()


def test_guarded_views_answer_anonymous_requests_under_login_required_middleware() -> None:
    from tests.testapp import fresh_views

    for view in (fresh_views.fresh, fresh_views.FreshView.as_view()):
        assert view.login_required is False  # type: ignore[attr-defined]


@pytest.mark.strategies("jwt")
def test_another_session_engine_is_never_fresh(
    bob: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    client = signed_in()
    with caplog.at_level(logging.ERROR, logger="django_jwtsession"):
        response = client.get("/fresh/view/")
    assert response.status_code == 302  # no sign-in time to go by
    assert "needs django_jwtsession's session engine" in caplog.text


# -- REST framework ----------------------------------------------------------------------------


def test_rest_framework_permission_with_the_cookie(
    bob: Any, clock: Clock, django_assert_num_queries: Any
) -> None:
    client = signed_in()
    with django_assert_num_queries(0):
        assert client.get("/fresh/api/").json() == {"ok": True, "username": "bob"}
    clock.advance(STALE)
    response = client.get("/fresh/api/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This needs a sign-in within the last 5 minutes: sign in again.",
        "code": "fresh_login_required",
        "max_age": MAX_AGE,
    }
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", error="insufficient_user_authentication", max_age={MAX_AGE}'
    )
    sign_in_again(client, "/")
    assert client.get("/fresh/api/").status_code == 200


def test_rest_framework_permission_with_a_bearer_token(bob: Any, clock: Clock) -> None:
    token = Client().post("/api/session/", {"username": "bob", "password": PASSWORD, "token": 1})
    api = Client(headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert api.get("/fresh/api/").status_code == 200
    clock.advance(STALE)
    response = api.get("/fresh/api/")
    assert response.status_code == 401
    assert response.json()["code"] == "fresh_login_required"


def test_rest_framework_permission_anonymous_and_combined(bob: Any, clock: Clock) -> None:
    anonymous = Client().get("/fresh/api/")
    assert anonymous.status_code == 401
    assert "code" not in anonymous.json()
    client = signed_in()
    assert client.get("/fresh/api/admin/").status_code == 403  # fresh, not an admin
    clock.advance(STALE)
    assert client.get("/fresh/api/admin/").status_code == 401  # the step-up comes first


def test_rest_framework_view_without_a_max_age_names_it(bob: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="fresh_login_max_age"):
        signed_in().get("/fresh/api/no-max-age/")


def test_the_session_endpoint_says_when_the_user_last_signed_in(bob: Any, clock: Clock) -> None:
    client = signed_in()
    session = client.get("/api/session/").json()["session"]
    assert session["created"] <= session["signed_in"]  # the sign-in started the session
    clock.advance(STALE)
    sign_in_again(client, "/")
    again = client.get("/api/session/").json()["session"]
    assert again["created"] == session["created"]
    assert again["signed_in"] > session["signed_in"]  # ISO 8601 in UTC: ordered as strings
