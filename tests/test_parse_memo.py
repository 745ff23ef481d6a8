"""A cookie seen before is not parsed again (``parse_memo``): what a parse would answer, and
nothing a request did to its session, a clock or a key change could make otherwise."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path

from tests.helpers import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_parse_memo")]


def seed(request: HttpRequest) -> JsonResponse:
    request.session["cart"] = ["book"]
    request.session["colour"] = "red"
    return JsonResponse({})


def change_unsaved(request: HttpRequest) -> JsonResponse:
    """Changes the session in place without marking it modified: Django saves nothing."""
    request.session["cart"].append("pen")
    return JsonResponse({"cart": request.session["cart"]})


def change_saved(request: HttpRequest) -> JsonResponse:
    request.session["colour"] = "blue"
    return JsonResponse({})


def read(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse(
        {
            "cart": request.session.get("cart"),
            "colour": request.session.get("colour"),
            "user": user.get_username() if user.is_authenticated else None,
        }
    )


urlpatterns = [
    path("seed/", seed),
    path("change-unsaved/", change_unsaved),
    path("change-saved/", change_saved),
    path("read/", read),
]


def cookie_of(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def read_with(cookie: str) -> dict[str, Any]:
    """``/read/`` with exactly this session cookie (a client replaying it)."""
    response = Client().get("/read/", headers={"Cookie": f"sessionid={cookie}"})
    assert response.status_code == 200
    return json.loads(response.content)  # type: ignore[no-any-return]


@pytest.fixture
def signed_in(strategy: str) -> Client:
    client = Client()
    client.force_login(make_user("bob"))
    client.get("/seed/")
    return client


def test_a_change_in_place_that_is_not_saved_is_not_seen_by_the_next_request(
    signed_in: Client,
) -> None:
    cookie = cookie_of(signed_in)
    assert read_with(cookie)["cart"] == ["book"]  # parsed, and remembered
    assert signed_in.get("/change-unsaved/").json() == {"cart": ["book", "pen"]}
    assert cookie_of(signed_in) == cookie  # nothing was saved
    for _ in range(2):
        assert read_with(cookie) == {"cart": ["book"], "colour": "red", "user": "bob"}


def test_a_replayed_cookie_reads_the_data_it_was_issued_with(signed_in: Client) -> None:
    old = cookie_of(signed_in)
    assert read_with(old)["colour"] == "red"
    signed_in.get("/change-saved/")
    assert read_with(cookie_of(signed_in))["colour"] == "blue"
    if cookie_of(signed_in) != old:  # jwt: the old token still holds its own data
        assert read_with(old) == {"cart": ["book"], "colour": "red", "user": "bob"}


@pytest.mark.strategies("jwt")
def test_a_token_seen_before_is_refused_once_it_has_expired(
    signed_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = cookie_of(signed_in)
    assert read_with(cookie)["user"] == "bob"
    later = time.time() + django_settings.SESSION_COOKIE_AGE + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert read_with(cookie) == {"cart": None, "colour": None, "user": None}


@pytest.mark.strategies("jwt")
def test_a_token_seen_before_is_refused_once_its_key_is_gone(
    signed_in: Client, settings: Any
) -> None:
    cookie = cookie_of(signed_in)
    assert read_with(cookie)["user"] == "bob"
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40  # no fallback: the old key is gone
    assert read_with(cookie)["user"] is None
