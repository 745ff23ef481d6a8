"""Session limits: ``SESSION_LIMIT`` live sessions per user, enforced at sign-in —
``"evict_oldest"`` ends the oldest on its next request, ``"deny"`` refuses the new sign-in."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from django_jwtsession.keyspace import session_hash
from django_jwtsession.limits import PROVISIONAL_SECONDS
from django_jwtsession.models import SessionRecord
from tests.helpers import PASSWORD, client_session_id, make_user, token_payload

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
CREDENTIALS = {"username": "bob", "password": PASSWORD}


def sign_in(url: str = "/accounts/login/", username: str = "bob", **extra: Any) -> Client:
    client = Client(**extra)
    response = client.post(url, {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def signed_in(client: Client) -> bool:
    return bool(client.get("/whoami/").json()["authenticated"])


def live_count(user: User) -> int:
    return SessionRecord.objects.filter(user=user).live().count()


# -- evict_oldest ----------------------------------------------------------------------------------


def test_a_sign_in_over_the_limit_ends_the_oldest_session(
    bob: User, configure: Any, django_capture_on_commit_callbacks: Any
) -> None:
    configure(SESSION_LIMIT=2)
    first, second = sign_in(), sign_in()
    first_id = session_hash(client_session_id(first))
    with django_capture_on_commit_callbacks(execute=True):
        third = sign_in()
    assert not signed_in(first)  # its very next request
    assert signed_in(second)
    assert signed_in(third)
    record = SessionRecord.objects.get(session_hash=first_id)
    assert (record.end_reason, record.ended_by_id) == ("limit", None)
    assert live_count(bob) == 2


@pytest.mark.parametrize("url", ["/custom-login/", "/async-login/"])
def test_any_login_evicts_the_oldest(bob: User, configure: Any, url: str) -> None:
    """A view of yours calling ``login()`` or ``alogin()``: the same eviction."""
    configure(SESSION_LIMIT=1)
    first, second = Client(), Client()
    assert first.post(url, CREDENTIALS).content == b"signed in"
    oldest = session_hash(client_session_id(first))
    assert second.post(url, CREDENTIALS).content == b"signed in"
    assert not signed_in(first)
    assert signed_in(second)
    assert SessionRecord.objects.get(user=bob, end_reason="limit").session_hash == oldest


def test_each_user_counts_their_own_sessions(bob: User, configure: Any) -> None:
    make_user("carol")
    configure(SESSION_LIMIT=1)
    mine, hers = sign_in(), sign_in(username="carol")
    assert signed_in(mine)
    assert signed_in(hers)
    newer = sign_in()
    assert not signed_in(mine)
    assert signed_in(newer)
    assert signed_in(hers)


def test_signing_in_again_on_the_same_browser_is_no_new_session(bob: User, configure: Any) -> None:
    configure(SESSION_LIMIT=1)
    client = sign_in()
    before = client_session_id(client)
    client.post("/accounts/login/", CREDENTIALS)
    assert signed_in(client)
    assert client_session_id(client) == before  # Django keeps the session of the same user
    assert live_count(bob) == 1


def test_signing_in_over_another_users_session_is_counted_too(bob: User, configure: Any) -> None:
    """login() flushes carol's session: the new one gets its id (and record) at once."""
    make_user("carol")
    configure(SESSION_LIMIT=1)
    elsewhere = sign_in()
    shared = sign_in(username="carol")
    response = shared.post("/accounts/login/", CREDENTIALS)
    assert response.status_code == 302
    assert whoami_name(shared) == "bob"
    assert not signed_in(elsewhere)
    assert live_count(bob) == 1


def whoami_name(client: Client) -> str | None:
    name: str | None = client.get("/whoami/").json().get("username")
    return name


@pytest.mark.needs_groups
def test_a_per_role_and_tier_limit_takes_the_smallest_that_applies(configure: Any) -> None:
    make_user("bob", roles=("editor",), tier="pro")
    make_user("carol", tier="free")
    configure(SESSION_LIMIT={"default": 3, "roles": {"editor": 1}, "tiers": {"pro": 2}})
    first = sign_in()
    second = sign_in()  # bob: editor (1) and pro (2): 1
    assert not signed_in(first)
    assert signed_in(second)
    hers = [sign_in(username="carol") for _ in range(3)]  # carol: no entry applies: default 3
    assert all(signed_in(client) for client in hers)
    sign_in(username="carol")
    assert not signed_in(hers[0])


def test_an_abandoned_sign_in_stops_counting_after_a_while(bob: User, configure: Any) -> None:
    """A response that never saved its session (a 500 after login()) leaves its record
    counting for PROVISIONAL_SECONDS only."""
    configure(SESSION_LIMIT=2, SESSION_LIMIT_POLICY="deny")
    failing = Client(raise_request_exception=False)
    before = timezone.now()
    response = failing.post("/login-then-fail/", CREDENTIALS)
    assert response.status_code == 500
    [record] = SessionRecord.objects.filter(user=bob)
    assert record.expires <= before + timedelta(seconds=PROVISIONAL_SECONDS + 1)
    sign_in()  # the provisional one and this one: 2
    SessionRecord.objects.filter(pk=record.pk).update(expires=timezone.now())
    sign_in()  # the abandoned one no longer counts


# -- deny ------------------------------------------------------------------------------------------


def test_deny_refuses_the_new_sign_in_with_a_clear_form_error(bob: User, configure: Any) -> None:
    configure(SESSION_LIMIT=2, SESSION_LIMIT_POLICY="deny")
    first, second = sign_in(), sign_in()
    client = Client()
    response = client.post("/accounts/gated-login/", CREDENTIALS)
    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors().as_data()
    assert error.code == "session_limit"
    assert error.message.startswith("This account already has 2 sessions signed in")
    assert not signed_in(client)
    assert signed_in(first)
    assert signed_in(second)
    assert live_count(bob) == 2


def test_deny_lets_a_browser_already_signed_in_sign_in_again(bob: User, configure: Any) -> None:
    configure(SESSION_LIMIT=1, SESSION_LIMIT_POLICY="deny")
    client = sign_in("/accounts/gated-login/")
    response = client.post("/accounts/gated-login/", CREDENTIALS)
    assert response.status_code == 302
    assert signed_in(client)


def test_deny_at_the_rest_login_is_a_403_with_the_message(bob: User, configure: Any) -> None:
    configure(SESSION_LIMIT=1, SESSION_LIMIT_POLICY="deny")
    first = sign_in()
    for as_token in (False, True):
        client = Client()
        response = client.post(
            "/api/session/", {**CREDENTIALS, "token": as_token}, content_type="application/json"
        )
        assert response.status_code == 403
        assert response.json()["code"] == "session_limit"
        assert "the most it may have" in response.json()["detail"]
        assert not signed_in(client)
    assert signed_in(first)
    assert live_count(bob) == 1


@pytest.mark.parametrize("url", ["/accounts/login/", "/custom-login/", "/async-login/"])
def test_deny_anywhere_else_is_a_403_with_no_signed_in_cookie(
    bob: User, configure: Any, url: str
) -> None:
    configure(SESSION_LIMIT=1, SESSION_LIMIT_POLICY="deny")
    first = sign_in()
    client = Client()
    response = client.post(url, CREDENTIALS)
    assert response.status_code == 403
    cookie = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is not None and cookie.value:
        assert "_auth_user_id" not in token_payload(cookie.value)["dat"]
    assert not signed_in(client)
    assert signed_in(first)
    assert live_count(bob) == 1  # the refused sign-in's record rolled back


# -- what limits cost ------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["evict_oldest", "deny"])
def test_the_hot_path_is_unchanged_by_limits(
    bob: User,
    configure: Any,
    django_assert_num_queries: Any,
    cache_calls: list[str],
    policy: str,
) -> None:
    configure(SESSION_LIMIT={"default": 1, "roles": {"editor": 3}}, SESSION_LIMIT_POLICY=policy)
    client = sign_in()
    client.get("/whoami/")
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert signed_in(client)
    assert cache_calls == ["get_many"]


# -- concurrent sign-ins ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="concurrent sign-ins share the test database only on PostgreSQL",
)
@pytest.mark.parametrize("policy", ["deny", "evict_oldest"])
def test_concurrent_sign_ins_never_exceed_the_limit(configure: Any, policy: str) -> None:
    """The user's row is locked while a sign-in counts, and its record is written first: two
    sign-ins at once each count the other."""
    bob = make_user("bob")
    configure(SESSION_LIMIT=1, SESSION_LIMIT_POLICY=policy)
    start = threading.Barrier(4)
    clients: list[Client] = []

    def sign_in_at_once() -> None:
        client = Client()
        clients.append(client)
        try:
            start.wait()
            client.post("/custom-login/", CREDENTIALS)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_in_at_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(signed_in(client) for client in clients) == 1
    assert live_count(bob) == 1
