"""``IDLE_TIMEOUT``: seconds without a request end a session, beside ``MAX_LIFETIME``.

The clock is moved with the ``clock`` fixture (``time.time()``, which the token times read);
every test runs under both strategies.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_jwtsession.conf import get_settings
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord
from tests.helpers import (
    PASSWORD,
    Clock,
    Configure,
    client_session_id,
    refresh_queries,
    session_token,
    token_payload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
COOKIE = settings.SESSION_COOKIE_NAME
IDLE = 600


@pytest.fixture
def idle(configure: Configure) -> None:
    """``IDLE_TIMEOUT`` on; claims that stay fresh, so only the idle clock acts."""
    configure(IDLE_TIMEOUT=IDLE, CLAIMS_TTL=7200)


def signed_in(bob: Any) -> Client:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    return client


def whoami(client: Client) -> Any:
    response = client.get("/whoami/")
    assert response.status_code == 200
    return response


def username(client: Client) -> str | None:
    name: str | None = whoami(client).json().get("username")
    return name


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.mark.usefixtures("idle")
def test_a_request_within_half_the_window_is_the_hot_path(
    bob: Any, clock: Clock, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    client = signed_in(bob)
    clock.advance(IDLE // 2 - 10)  # (a margin: the real clock moves on too)
    cache_calls.clear()
    with django_assert_num_queries(0):
        response = whoami(client)
    assert response.json()["username"] == "bob"
    assert cache_calls == ["get_many"]  # the one round trip
    assert COOKIE not in response.cookies  # no write: not re-stamped yet


@pytest.mark.usefixtures("idle")
def test_half_the_window_re_stamps_the_session_with_one_write(bob: Any, clock: Clock) -> None:
    client = signed_in(bob)
    before = token_payload(session_token(client))
    clock.advance(IDLE // 2)
    with refresh_queries(claims=0):  # the record's write, nothing else
        response = whoami(client)
    assert response.json()["username"] == "bob"
    after = token_payload(response.cookies[COOKIE].value)
    assert after["iat"] >= before["iat"] + IDLE // 2
    assert (after["sid"], after["sat"]) == (before["sid"], before["sat"])


@pytest.mark.usefixtures("idle")
def test_an_idle_session_is_signed_out_on_its_next_request(bob: Any, clock: Clock) -> None:
    client = signed_in(bob)
    stolen = Client()
    stolen.cookies[COOKIE] = session_token(client)
    record = SessionRecord.objects.get(session_hash=session_hash(client_session_id(client)))
    clock.advance(IDLE)
    response = whoami(client)
    assert response.json() == {"authenticated": False}
    assert response.cookies[COOKIE]["max-age"] == 0  # the cookie goes
    record.refresh_from_db()
    assert record.revoked_at is not None  # ended server-side, as a logout ends it
    assert (record.end_reason, record.ended_by_id) == ("idle", None)  # the session history
    # A copy replayed later is refused as revoked: the end is written once only.
    with CaptureQueriesContext(connection) as replayed:
        assert username(stolen) is None
    assert writes(replayed) == []


@pytest.mark.usefixtures("idle")
def test_an_idle_session_is_not_brought_back_by_a_longer_timeout(
    bob: Any, clock: Clock, configure: Configure
) -> None:
    client = signed_in(bob)
    stolen = Client()
    stolen.cookies[COOKIE] = session_token(client)
    clock.advance(IDLE)
    assert username(client) is None
    configure(IDLE_TIMEOUT=10 * IDLE)
    assert username(stolen) is None


@pytest.mark.usefixtures("idle")
def test_a_session_used_every_half_window_lives_until_max_lifetime(
    bob: Any, clock: Clock, configure: Configure
) -> None:
    configure(MAX_LIFETIME=3600)
    client = signed_in(bob)
    started = token_payload(session_token(client))["sat"]
    while clock.now() + IDLE // 2 < started + 3600 - 10:  # (a margin for the real clock)
        clock.advance(IDLE // 2)
        assert username(client) == "bob", clock.now() - started
    clock.advance(started + 3600 + get_settings().leeway - clock.now())
    assert username(client) is None  # the absolute cap, however active


@pytest.mark.usefixtures("idle")
def test_a_session_used_just_under_the_window_apart_can_idle_out(bob: Any, clock: Clock) -> None:
    """The guarantee is half the window: a request at 0.4 (not re-stamped) then at 1.3
    windows finds a stamp a whole window old."""
    client = signed_in(bob)
    clock.advance(IDLE * 4 // 10)
    assert COOKIE not in whoami(client).cookies
    clock.advance(IDLE * 9 // 10)
    assert username(client) is None


@pytest.mark.usefixtures("idle")
def test_an_anonymous_session_idles_out_too(clock: Clock) -> None:
    client = Client()
    client.get("/set/?color=blue")
    assert client.get("/get/?color").json() == {"color": "blue"}
    clock.advance(IDLE)
    assert client.get("/get/?color").json() == {"color": None}


def test_without_idle_timeout_a_session_idles_as_long_as_it_lasts(bob: Any, clock: Clock) -> None:
    client = signed_in(bob)
    clock.advance(settings.SESSION_COOKIE_AGE - 60)
    assert username(client) == "bob"


@pytest.mark.usefixtures("idle")
def test_a_bearer_session_idles_out_too(bob: Any, clock: Clock) -> None:
    client = signed_in(bob)
    token = session_token(client)
    api = Client(headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/session/").status_code == 200
    clock.advance(IDLE)
    assert api.get("/api/session/").status_code == 401


@pytest.mark.strategies("jwt")
@pytest.mark.usefixtures("idle")
def test_an_idle_session_of_the_other_strategy_is_ended_not_taken_over(
    bob: Any, clock: Clock, configure: Configure
) -> None:
    client = signed_in(bob)
    token = session_token(client)
    configure(STRATEGY="db", ACCEPT_FROM=["jwt"])
    clock.advance(IDLE)
    assert username(client) is None
    assert not SessionRecord.objects.filter(strategy="db").exists()
    configure(STRATEGY="jwt", ACCEPT_FROM=[], IDLE_TIMEOUT=None)
    replayed = Client()
    replayed.cookies[COOKIE] = token
    assert username(replayed) is None  # revoked when it idled out


# -- set_expiry(seconds): Django's "seconds of inactivity", per session --------------------------


def test_set_expiry_seconds_is_a_window_of_inactivity(
    bob: Any, clock: Clock, configure: Configure
) -> None:
    configure(CLAIMS_TTL=7200)
    client = signed_in(bob)
    client.get("/expiry/?seconds=300")
    for _ in range(4):  # each request within half the window re-stamps it once due
        clock.advance(150)
        response = whoami(client)
        assert response.json()["username"] == "bob"
    assert response.cookies[COOKIE]["max-age"] == 300  # re-issued: 300 s from now
    clock.advance(300 + get_settings().leeway)
    assert username(client) is None  # 300 s without a request: expired


def test_the_shorter_of_set_expiry_and_idle_timeout_sets_the_re_stamping(
    bob: Any, clock: Clock, configure: Configure
) -> None:
    configure(IDLE_TIMEOUT=IDLE, CLAIMS_TTL=7200)
    client = signed_in(bob)
    client.get(f"/expiry/?seconds={IDLE * 10}")
    clock.advance(IDLE // 2)
    assert COOKIE in whoami(client).cookies  # IDLE_TIMEOUT's half: re-stamped
    client.get("/expiry/?seconds=100")
    clock.advance(50)
    assert COOKIE in whoami(client).cookies  # set_expiry's half: re-stamped
