"""Behaviour a second, adversarial read of the store core found wanting (each fixed):
revocations racing a new session id, logging out right after a take-over, spills, the
unknown-key memory, clear(), and the cacheability of chunk deletions."""

from __future__ import annotations

import copy
import pickle
import secrets
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_jwtsession.backends.db_keys import SPILL_PREFIX
from django_jwtsession.backends.session import SessionStore
from django_jwtsession.conf import get_settings
from django_jwtsession.middleware import user_from_session
from django_jwtsession.revocation import revoke_user
from tests.helpers import PASSWORD, Configure, make_user, session_token

COOKIE = settings.SESSION_COOKIE_NAME
OURS = "django_jwtsession.backends.session"
DJANGO_DB = "django.contrib.sessions.backends.db"
pytestmark = pytest.mark.django_db


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


# -- a revocation between the state check and a new session id -----------------------------------


@pytest.mark.usefixtures("strategy")
def test_a_revocation_after_the_check_ends_the_cycled_session(bob_client: Client, bob: Any) -> None:
    store = SessionStore(session_token(bob_client))
    assert store.claims is not None  # loaded: the state check passed
    revoke_user(bob)  # meanwhile, another request logs bob out everywhere
    store.cycle_key()
    store.save()
    assert SessionStore(store.session_key).get(SESSION_KEY) is None


@pytest.mark.strategies("jwt")
def test_a_revocation_after_the_check_ends_the_spilled_session(
    bob_client: Client, bob: Any, strategy: str
) -> None:
    store = SessionStore(session_token(bob_client))
    assert store.claims is not None
    revoke_user(bob)
    store["big"] = "x" * get_settings().max_token_bytes
    store.save()  # spilled under a new id: still under the epochs it was checked against
    assert str(store.session_key).startswith(SPILL_PREFIX)
    assert SessionStore(store.session_key).get(SESSION_KEY) is None


@pytest.mark.usefixtures("strategy")
def test_a_password_change_keeps_the_session_that_made_it(bob: Any) -> None:
    """``update_session_auth_hash()`` re-authenticates the session: it survives the
    revocation its own password change caused (the other sessions do not)."""
    client, other = Client(), Client()
    assert client.login(username="bob", password=PASSWORD)
    assert other.login(username="bob", password=PASSWORD)
    assert client.post("/password/", {"password": "a-new-password"}).status_code == 200
    assert whoami(client)["username"] == "bob"
    assert whoami(other) == {"authenticated": False}


# -- logging out on the very request that took a session over ------------------------------------


@pytest.mark.parametrize(("source", "target"), [("db", "jwt"), ("jwt", "db"), (DJANGO_DB, "jwt")])
def test_logging_out_right_after_a_take_over_ends_the_old_session(
    settings: Any, configure: Configure, source: str, target: str
) -> None:
    make_user("carol")
    if source in ("jwt", "db"):
        settings.SESSION_ENGINE = OURS
        configure(STRATEGY=source)
    else:
        settings.SESSION_ENGINE = source
    client = Client()
    assert client.login(username="carol", password=PASSWORD)
    old = client.cookies[COOKIE].value
    settings.SESSION_ENGINE = OURS
    configure(STRATEGY=target, ACCEPT_FROM=(source,))
    assert client.post("/accounts/logout/").status_code in (200, 302)  # the first request
    thief = Client()
    thief.cookies[COOKIE] = old
    assert whoami(thief) == {"authenticated": False}


# -- spills --------------------------------------------------------------------------------------


@pytest.mark.strategies("jwt")
def test_a_token_that_spills_later_in_the_same_store_takes_its_record(
    bob: Any, strategy: str
) -> None:
    store = SessionStore()
    store.cycle_key()
    store[SESSION_KEY] = str(bob.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = bob.get_session_auth_hash()
    store.save()  # a token, and its session record
    assert str(store.session_key).startswith("ey")
    store["big"] = "x" * get_settings().max_token_bytes
    store.save()  # spilled into that same record
    assert str(store.session_key).startswith(SPILL_PREFIX)
    assert SessionStore(store.session_key)["big"]


@pytest.mark.strategies("jwt")
def test_cycling_a_spilled_anonymous_session_ends_the_old_one(strategy: str) -> None:
    store = SessionStore()
    store["big"] = "x" * get_settings().max_token_bytes
    store.save()
    old = str(store.session_key)
    assert old.startswith(SPILL_PREFIX)
    store.cycle_key()
    store.save()
    assert store.session_key != old
    assert SessionStore(old).get("big") is None


def test_a_spilled_jwt_session_is_taken_over_by_the_db_strategy(configure: Configure) -> None:
    make_user("dave")
    configure(STRATEGY="jwt")
    client = Client()
    assert client.login(username="dave", password=PASSWORD)
    client.get(f"/set-big/?size={get_settings().max_token_bytes}")
    assert session_token(client).startswith(SPILL_PREFIX)
    configure(STRATEGY="db", ACCEPT_FROM=("jwt",))
    assert whoami(client)["username"] == "dave"


# -- made-up keys write nothing shared -----------------------------------------------------------


@pytest.mark.strategies("db")
def test_a_flood_of_made_up_keys_writes_nothing_to_the_cache(
    strategy: str, bob_client: Client, cache_calls: list[str]
) -> None:
    bob_client.get("/whoami/")
    cache_calls.clear()
    attacker = Client()
    for _ in range(200):
        attacker.cookies[COOKIE] = "d1." + secrets.token_urlsafe(32)
        attacker.get("/whoami/")
    assert set(cache_calls) == {"get_many"}  # reads only: no add, no set
    with CaptureQueriesContext(connection) as queries:
        assert whoami(bob_client)["username"] == "bob"
    assert len(queries) == 0  # bob's warm session is still warm


# -- clear() as a logout -------------------------------------------------------------------------


@pytest.mark.usefixtures("strategy")
def test_clearing_a_signed_in_session_signs_out_its_copies(bob_client: Client) -> None:
    old = session_token(bob_client)
    store = SessionStore(old)
    assert store.get(SESSION_KEY)
    store.clear()
    store.save()
    assert SessionStore(store.session_key).get(SESSION_KEY) is None
    assert SessionStore(old).get(SESSION_KEY) is None


# -- chunk deletions are never shared ------------------------------------------------------------


def test_deleting_a_stray_chunk_is_private() -> None:
    client = Client()
    client.cookies[f"{COOKIE}.1"] = "x"
    response = client.get("/plain/")
    assert f"{COOKIE}.1" in response.cookies
    assert "private" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


# -- the lazy user -------------------------------------------------------------------------------


def test_the_lazy_user_copies_and_pickles(bob_client: Client, bob: Any) -> None:
    user = user_from_session(SessionStore(session_token(bob_client)))
    assert copy.copy(user).pk == bob.pk
    assert pickle.loads(pickle.dumps(user)).pk == bob.pk  # noqa: S301


def test_an_anonymous_lazy_user_is_djangos_anonymous_user() -> None:
    user = user_from_session(SessionStore(None))
    assert isinstance(user, AnonymousUser)
    assert user == AnonymousUser()
