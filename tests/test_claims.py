"""Claims refresh after ``CLAIMS_TTL``, custom providers and claim sources."""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.test import AsyncClient, Client, TestCase, override_settings

from django_jwtsession.claims import Claims, user_id_string
from django_jwtsession.conf import get_settings
from tests.helpers import (
    jwtsession_settings,
    make_user,
    refresh_queries,
    resign_session,
    set_roles,
    token_payload,
)
from tests.testapp.models import Plan

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

COOKIE = settings.SESSION_COOKIE_NAME


def vip_provider(user: AbstractBaseUser) -> Claims:
    """A custom ``CLAIMS_PROVIDER`` (no query at all)."""
    return Claims(
        user_id=user_id_string(user),
        username=user.get_username(),
        roles=frozenset({"vip"}),
        tier="gold",
        flags=frozenset({"custom"}),
    )


def dict_provider(user: AbstractBaseUser) -> dict[str, Any]:
    """A provider may return the token form of the claims."""
    return {**vip_provider(user).to_dict(), "rol": ["from-dict"]}


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


def make_claims_stale(client: Client) -> None:
    resign_session(client, cat=int(time.time()) - get_settings().claims_ttl - 1)


def promote(bob: User) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):  # as if committed: the cache mirrors it
        set_roles(bob, ["admin", "editor"])
    Plan.objects.filter(user=bob).update(tier="enterprise", flags=["beta", "sso"])
    User.objects.filter(pk=bob.pk).update(is_staff=True)


# -- refresh after CLAIMS_TTL --------------------------------------------------------------------


def test_refresh_after_ttl_rebuilds_claims_in_two_queries(
    bob: User,
    bob_client: Client,
    django_assert_max_num_queries: Any,
    django_assert_num_queries: Any,
) -> None:
    promote(bob)
    make_claims_stale(bob_client)
    started = int(time.time())
    with refresh_queries(claims=2):  # the user, its roles; then the session record
        response = bob_client.get("/whoami/")
    data = response.json()
    assert (data["roles"], data["tier"], data["flags"]) == (
        ["admin", "editor"],
        "enterprise",
        ["beta", "sso"],
    )
    assert data["is_staff"] is True
    payload = token_payload(response.cookies[COOKIE].value)
    assert payload["cat"] >= started
    assert payload["clm"]["rol"] == ["admin", "editor"]
    with django_assert_num_queries(0):  # the re-issued cookie carries the new claims
        assert whoami(bob_client)["tier"] == "enterprise"
    assert COOKIE not in bob_client.get("/whoami/").cookies


def test_claims_ttl_setting_is_honoured(
    bob: User, bob_client: Client, django_assert_max_num_queries: Any
) -> None:
    promote(bob)
    with jwtsession_settings(CLAIMS_TTL=0), refresh_queries(claims=2):
        response = bob_client.get("/whoami/")
    assert response.json()["tier"] == "enterprise"
    assert COOKIE in response.cookies


def test_fresh_claims_do_not_refresh(bob_client: Client, django_assert_num_queries: Any) -> None:
    with jwtsession_settings(CLAIMS_TTL=3600), django_assert_num_queries(0):
        response = bob_client.get("/whoami/")
    assert response.json()["tier"] == "pro"
    assert COOKIE not in response.cookies


def test_refresh_in_an_async_view(
    bob: User, bob_client: Client, django_assert_max_num_queries: Any
) -> None:
    promote(bob)
    make_claims_stale(bob_client)
    client = AsyncClient()
    client.cookies = bob_client.cookies
    with refresh_queries(claims=2):
        response = async_to_sync(client.get)("/async-whoami/")
    assert response.json() == {"authenticated": True, "username": "bob"}
    assert token_payload(response.cookies[COOKIE].value)["clm"]["tir"] == "enterprise"


@pytest.mark.parametrize("change", ["deactivate", "delete"])
def test_user_gone_at_refresh_ends_the_session(
    bob: User, bob_client: Client, change: str, django_assert_max_num_queries: Any
) -> None:
    make_claims_stale(bob_client)
    if change == "delete":
        bob.delete()
    else:
        User.objects.filter(pk=bob.pk).update(is_active=False)
    with django_assert_max_num_queries(2):
        response = bob_client.get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert response.cookies[COOKIE].value == ""
    assert response.cookies[COOKIE]["max-age"] == 0


def test_user_gone_at_refresh_drops_the_session_data(bob: User, bob_client: Client) -> None:
    bob_client.get("/set/?color=blue")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    with jwtsession_settings(CLAIMS_TTL=0):
        assert bob_client.get("/get/?color").json() == {"color": None}


# -- providers and sources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "provider", ["tests.test_claims.vip_provider", vip_provider], ids=["import-string", "callable"]
)
def test_custom_claims_provider_at_login(bob: User, provider: Any) -> None:
    with jwtsession_settings(CLAIMS_PROVIDER=provider):
        client = Client()
        client.force_login(bob)
        data = whoami(client)
    assert (data["roles"], data["tier"], data["flags"]) == (["vip"], "gold", ["custom"])


@pytest.mark.parametrize(
    "provider", ["tests.test_claims.vip_provider", vip_provider], ids=["import-string", "callable"]
)
def test_custom_claims_provider_at_refresh(
    bob_client: Client, provider: Any, django_assert_max_num_queries: Any
) -> None:
    assert whoami(bob_client)["roles"] == ["editor"]
    with (
        jwtsession_settings(CLAIMS_PROVIDER=provider, CLAIMS_TTL=0),
        refresh_queries(claims=1),  # the user; this provider needs nothing else
    ):
        data = whoami(bob_client)
    assert (data["roles"], data["tier"], data["flags"]) == (["vip"], "gold", ["custom"])


def test_provider_returning_the_token_form(bob: User) -> None:
    with jwtsession_settings(CLAIMS_PROVIDER=dict_provider):
        client = Client()
        client.force_login(bob)
        assert whoami(client)["roles"] == ["from-dict"]


def test_tier_flags_and_roles_sources_as_callables(bob: User) -> None:
    with jwtsession_settings(
        TIER_SOURCE=lambda user: "staff" if user.is_staff else "member",
        FLAGS_SOURCE=lambda user: [f"user-{user.pk}", "callable"],
        ROLES_SOURCE=lambda user: ["reader"],
    ):
        client = Client()
        client.force_login(bob)
        data = whoami(client)
    assert (data["roles"], data["tier"], data["flags"]) == (
        ["reader"],
        "member",
        sorted([f"user-{bob.pk}", "callable"]),
    )


@pytest.mark.parametrize(
    ("default", "expected"), [("free", "free"), (None, None), ("trial", "trial")]
)
def test_default_tier_without_a_subscription(
    db: None, default: str | None, expected: str | None, django_assert_max_num_queries: Any
) -> None:
    carol = make_user("carol")
    with jwtsession_settings(DEFAULT_TIER=default):
        client = Client()
        client.force_login(carol)
        assert whoami(client)["tier"] == expected
        make_claims_stale(client)
        with refresh_queries(claims=2):
            data = whoami(client)
    assert (data["tier"], data["flags"], data["roles"]) == (expected, [], [])


def test_a_new_subscription_shows_after_refresh(db: None) -> None:
    carol = make_user("carol")
    client = Client()
    client.force_login(carol)
    assert whoami(client)["tier"] == "free"
    Plan.objects.create(user=carol, tier="pro", flags=["beta"])
    make_claims_stale(client)
    data = whoami(client)
    assert (data["tier"], data["flags"]) == ("pro", ["beta"])


@override_settings(AUTHENTICATION_BACKENDS=["tests.test_users.RefusingBackend"])
def test_refresh_asks_the_backends_own_get_user(bob: User) -> None:
    """A backend overriding ``get_user()`` decides at refresh, as in Django's ``get_user()``."""
    client = Client()
    assert client.login(username="bob", password="test-password")
    assert whoami(client)["username"] == "bob"  # claims built at login
    make_claims_stale(client)
    assert whoami(client) == {"authenticated": False}


@pytest.mark.parametrize("source", ["plam.tier", "subscriptoin.tier", "plan.teir"])
def test_a_source_the_user_model_lacks_never_fails_a_sign_in(
    bob: User, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong path (check jwtsession.E016 names it) leaves the claim empty, logged once."""
    with jwtsession_settings(TIER_SOURCE=source, FLAGS_SOURCE=source, DEFAULT_TIER="free"):
        for _ in range(2):
            client = Client()
            response = client.post(
                "/accounts/login/", {"username": "bob", "password": "test-password"}
            )
            assert response.status_code == 302, response.content[:300]
            data = whoami(client)
            assert (data["username"], data["tier"], data["flags"]) == ("bob", "free", [])
    errors = [record for record in caplog.records if record.name == "django_jwtsession"]
    assert [record.levelname for record in errors] == ["ERROR", "ERROR"]  # tier, flags: once
    assert f"JWTSESSION['TIER_SOURCE'] = {source!r} cannot be read" in errors[0].getMessage()
    assert "jwtsession.E016" in errors[0].getMessage()
    assert all(record.exc_info is None for record in errors)


def test_a_callable_source_that_fails_is_not_hidden(bob: User) -> None:
    def broken(user: Any) -> str:
        raise AttributeError("a bug in the project's source")

    with jwtsession_settings(TIER_SOURCE=broken), pytest.raises(AttributeError, match="a bug"):
        Client().force_login(bob)
