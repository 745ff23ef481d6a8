"""Remember me: a lifetime chosen at each sign-in with Django's ``set_expiry()``, as Django's
engines give it, under both strategies: ``0`` a browser-session cookie, ``None`` the normal
lifetime; ``MAX_LIFETIME`` caps either (``set_expiry(seconds)``: tests/test_idle.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from django_jwtsession.conf import get_settings
from tests.helpers import PASSWORD, Clock, Configure, session_token, token_payload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
COOKIE = settings.SESSION_COOKIE_NAME


def signed_in(remember: bool) -> Client:
    """Signed in, then ``set_expiry(None)`` or ``set_expiry(0)``, as a login view does."""
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    response = client.get(f"/expiry/?seconds={'none' if remember else 0}")
    assert response.status_code == 200
    return client


def cookie(response: Any) -> Any:
    return response.cookies[COOKIE]


def username(client: Client) -> str | None:
    name: str | None = client.get("/whoami/").json().get("username")
    return name


def test_not_remembered_is_a_browser_session_cookie(bob: Any) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    morsel = cookie(client.get("/expiry/?seconds=0"))
    assert (morsel["max-age"], morsel["expires"]) == ("", "")
    assert client.session.get_expire_at_browser_close()
    payload = token_payload(morsel.value)  # server-side: SESSION_COOKIE_AGE, as Django's
    assert payload["exp"] - payload["iat"] == settings.SESSION_COOKIE_AGE


def test_remembered_has_the_normal_lifetime(bob: Any) -> None:
    client = signed_in(remember=False)
    morsel = cookie(client.get("/expiry/?seconds=none"))
    assert morsel["max-age"] == settings.SESSION_COOKIE_AGE
    assert not client.session.get_expire_at_browser_close()


def test_the_choice_survives_re_issues_and_cycle_key(bob: Any, clock: Clock) -> None:
    client = signed_in(remember=False)
    clock.advance(get_settings().claims_ttl + 1)  # a claims refresh re-issues the session
    reissued = client.get("/whoami/")
    assert reissued.json()["username"] == "bob"
    assert cookie(reissued)["max-age"] == ""  # still a browser session
    cycled = client.get("/cycle/")
    assert cookie(cycled)["max-age"] == ""
    assert username(client) == "bob"


def test_signing_in_again_keeps_it_until_the_view_says_otherwise(bob: Any) -> None:
    client = signed_in(remember=False)
    assert client.login(username="bob", password=PASSWORD)  # login() keeps the session's data
    assert client.session.get_expire_at_browser_close()


@pytest.mark.parametrize("remember", [True, False], ids=["remembered", "browser-session"])
def test_max_lifetime_caps_either_choice(
    bob: Any, clock: Clock, configure: Configure, remember: bool
) -> None:
    configure(MAX_LIFETIME=3600, CLAIMS_TTL=7200, UPDATE_AGE=600)
    client = signed_in(remember)
    payload = token_payload(session_token(client))
    assert payload["exp"] <= payload["sat"] + 3600
    clock.advance(3000)
    response = client.get("/whoami/")  # past UPDATE_AGE: re-issued, but not extended
    assert response.json()["username"] == "bob"
    assert token_payload(session_token(client))["exp"] <= payload["sat"] + 3600
    if remember:
        assert 0 < cookie(response)["max-age"] <= 3600 - 3000
    clock.advance(600 + get_settings().leeway)
    assert username(client) is None


@pytest.mark.parametrize("remember", [True, False])
def test_either_choice_keeps_the_hot_path(
    bob: Any, remember: bool, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    client = signed_in(remember)
    username(client)  # settled: nothing left to re-issue
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert username(client) == "bob"
    assert cache_calls == ["get_many"]  # the one round trip
