"""The session API behaves as with Django's own engines (DESIGN.md invariant 5)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, get_user_model
from django.test import Client, override_settings

from django_jwtsession.backends.db_keys import SPILL_PREFIX
from django_jwtsession.backends.jwt import SessionStore
from django_jwtsession.conf import get_settings
from django_jwtsession.cookies import CHUNK_SIZE
from django_jwtsession.keys import get_key_ring
from tests.helpers import (
    PASSWORD,
    Configure,
    drop_deleted_cookies,
    jwtsession_settings,
    make_user,
    refresh_queries,
    resign_session,
    session_token,
    token_header,
    token_payload,
)

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

COOKIE = settings.SESSION_COOKIE_NAME
OLD_SECRET = "old-secret-key-7c1e9a3f5b2d8c4e6a0f1b3d5e7a9c2e"
NEW_SECRET = "new-secret-key-2b8d4f6a0c1e3b5d7f9a2c4e6b8d0f1a"


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


def assert_cookie_deleted(response: Any, name: str = COOKIE) -> None:
    assert response.cookies[name].value == ""
    assert response.cookies[name]["max-age"] == 0


# -- login and logout ----------------------------------------------------------------------------


def test_client_login(bob: User) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    assert whoami(client)["username"] == "bob"


def test_client_login_refuses_a_wrong_password(bob: User) -> None:
    client = Client()
    assert not client.login(username="bob", password="wrong")
    assert whoami(client) == {"authenticated": False}


def test_force_login(bob: User, django_assert_num_queries: Any) -> None:
    client = Client()
    client.force_login(bob)
    with django_assert_num_queries(0):
        assert whoami(client)["roles"] == ["editor"]


def test_login_view_signs_in_and_cycles_the_session_id(
    bob: User, django_assert_num_queries: Any
) -> None:
    client = Client()
    client.get("/set/?color=blue")
    anonymous_id = client.session.session_id
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_id != anonymous_id  # session fixation defence
    assert client.get("/get/?color").json() == {"color": "blue"}  # cycle_key keeps the data
    with django_assert_num_queries(0):  # claims were built at login
        assert whoami(client)["tier"] == "pro"


def test_login_view_with_a_wrong_password_stays_anonymous(bob: User) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    assert response.status_code == 200
    assert whoami(client) == {"authenticated": False}


def test_login_as_another_user_flushes_the_previous_session(bob_client: Client) -> None:
    make_user("carol", tier="free")
    bob_client.get("/set/?color=blue")
    response = bob_client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert response.status_code == 302
    assert whoami(bob_client)["username"] == "carol"
    assert whoami(bob_client)["roles"] == []
    assert bob_client.get("/get/?color").json() == {"color": None}


def test_logout_view_deletes_the_cookie(bob_client: Client) -> None:
    response = bob_client.post("/accounts/logout/")
    assert response.status_code == 200
    assert_cookie_deleted(response)
    assert whoami(bob_client) == {"authenticated": False}
    drop_deleted_cookies(bob_client, response)
    assert whoami(bob_client) == {"authenticated": False}


@pytest.mark.strategies("jwt")  # tokens, keys and cookie chunks
def test_logout_with_a_chunked_session_deletes_every_chunk(bob_client: Client) -> None:
    chunks = [
        c for c in bob_client.get("/set-big/?size=4000").cookies if c.startswith(f"{COOKIE}.")
    ]
    assert chunks
    response = bob_client.post("/accounts/logout/")
    for name in (COOKIE, *chunks):
        assert_cookie_deleted(response, name)


# -- cycle_key, flush, set_expiry ----------------------------------------------------------------


def test_cycle_key_changes_session_id_and_keeps_data(bob_client: Client) -> None:
    bob_client.get("/set/?color=blue")
    before = bob_client.session.session_id
    response = bob_client.get("/cycle/")
    after = response.content.decode()
    assert after
    assert after != before
    assert bob_client.session.session_id == after
    assert bob_client.get("/get/?color").json() == {"color": "blue"}
    assert whoami(bob_client)["username"] == "bob"


def test_flush_ends_the_session(bob_client: Client) -> None:
    bob_client.get("/set/?color=blue")
    response = bob_client.get("/flush/")
    assert_cookie_deleted(response)
    assert whoami(bob_client) == {"authenticated": False}
    assert bob_client.get("/get/?color").json() == {"color": None}


def test_set_expiry_seconds(bob_client: Client) -> None:
    response = bob_client.get("/expiry/?seconds=600")
    morsel = response.cookies[COOKIE]
    assert morsel["max-age"] == 600
    payload = token_payload(morsel.value)
    assert payload["exp"] - payload["iat"] == 600
    assert whoami(bob_client)["username"] == "bob"


def test_set_expiry_zero_is_a_browser_session_cookie(bob_client: Client) -> None:
    response = bob_client.get("/expiry/?seconds=0")
    morsel = response.cookies[COOKIE]
    assert morsel.value
    assert morsel["max-age"] == ""
    assert morsel["expires"] == ""
    assert bob_client.session.get_expire_at_browser_close()
    payload = token_payload(morsel.value)
    assert 0 < payload["exp"] - payload["iat"] <= settings.SESSION_COOKIE_AGE
    assert whoami(bob_client)["username"] == "bob"


def test_set_expiry_in_the_past_ends_the_session(bob_client: Client) -> None:
    response = bob_client.get("/expiry/past/")
    assert int(response.cookies[COOKIE]["max-age"] or 0) <= 0  # the browser drops it
    assert whoami(bob_client) == {"authenticated": False}  # and a replay is refused


# -- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "storage",
    [
        "django.contrib.messages.storage.fallback.FallbackStorage",
        "django.contrib.messages.storage.session.SessionStorage",
    ],
)
@pytest.mark.parametrize("text", ["saved", "long " * 600], ids=["short", "over-cookie-limit"])
def test_messages(bob_client: Client, storage: str, text: str) -> None:
    with override_settings(MESSAGE_STORAGE=storage):
        assert bob_client.get("/message/add/", {"text": text}).status_code == 200
        assert bob_client.get("/message/read/").json() == {"messages": [text]}
        assert bob_client.get("/message/read/").json() == {"messages": []}
        assert whoami(bob_client)["username"] == "bob"


def test_session_storage_messages_travel_in_the_token(bob_client: Client) -> None:
    with override_settings(
        MESSAGE_STORAGE="django.contrib.messages.storage.session.SessionStorage"
    ):
        bob_client.get("/message/add/", {"text": "saved"})
        assert "_messages" in token_payload(session_token(bob_client))["dat"]
        bob_client.get("/message/read/")
        assert "_messages" not in token_payload(session_token(bob_client))["dat"]


def test_messages_for_an_anonymous_session() -> None:
    client = Client()
    client.get("/message/add/", {"text": "hello " * 600})
    assert client.get("/message/read/").json() == {"messages": ["hello " * 600]}


# -- password change -----------------------------------------------------------------------------


def test_password_change_keeps_this_session_and_ends_the_others(bob: User) -> None:
    this, other = Client(), Client()
    assert this.login(username="bob", password=PASSWORD)
    assert other.login(username="bob", password=PASSWORD)
    before = this.session.session_id
    response = this.post("/password/", {"password": "a-new-password-0425"})
    assert response.status_code == 200
    assert this.session.session_id != before  # update_session_auth_hash cycles the key
    with jwtsession_settings(CLAIMS_TTL=0):  # every request refreshes its claims
        assert whoami(this)["username"] == "bob"
        response = other.get("/whoami/")
        assert response.json() == {"authenticated": False}
        assert_cookie_deleted(response)
    assert whoami(other) == {"authenticated": False}
    assert Client().login(username="bob", password="a-new-password-0425")


# -- client.session --------------------------------------------------------------------------------


def test_client_session_read_and_modify(bob: User, bob_client: Client) -> None:
    bob_client.get("/set/?color=blue")
    session = bob_client.session
    assert session["color"] == "blue"
    assert session.claims is not None
    assert session.claims.user_id == str(bob.pk)
    session["size"] = "xl"
    session.save()
    bob_client.cookies[COOKIE] = session.session_key  # the token is the session
    assert bob_client.get("/get/?color&size").json() == {"color": "blue", "size": "xl"}
    assert whoami(bob_client)["username"] == "bob"


@pytest.mark.django_db  # the db strategy stores even an anonymous session
def test_client_session_of_an_anonymous_client() -> None:
    client = Client()
    session = client.session
    session["color"] = "green"
    session.save()
    client.cookies[COOKIE] = session.session_key
    assert client.get("/get/?color").json() == {"color": "green"}


# -- sliding expiry and the absolute lifetime ----------------------------------------------------


def test_read_only_request_sets_no_cookie(bob_client: Client) -> None:
    bob_client.get("/set/?color=blue")
    for path in ("/whoami/", "/get/?color"):
        response = bob_client.get(path)
        assert response.status_code == 200
        assert COOKIE not in response.cookies


def test_read_only_request_before_update_age_sets_no_cookie(
    bob_client: Client, configure: Configure
) -> None:
    configure(CLAIMS_TTL=7200)  # claims are never younger than their token: keep them fresh
    now = int(time.time())
    age = get_settings().update_age - 60
    resign_session(bob_client, iat=now - age, sat=now - age)
    assert COOKIE not in bob_client.get("/whoami/").cookies


def test_update_age_passed_reissues_with_a_later_exp(
    bob_client: Client, django_assert_num_queries: Any, configure: Configure
) -> None:
    configure(CLAIMS_TTL=7200)  # claims are never younger than their token: keep them fresh
    now = int(time.time())
    age = get_settings().update_age + 60
    old = resign_session(
        bob_client, iat=now - age, sat=now - age, exp=now - age + settings.SESSION_COOKIE_AGE
    )
    with refresh_queries(claims=0):  # claims still fresh: the re-issue writes only the record
        response = bob_client.get("/whoami/")
    assert response.json()["username"] == "bob"
    new = token_payload(response.cookies[COOKIE].value)
    assert new["exp"] > old["exp"]
    assert new["iat"] > old["iat"]
    assert (new["sid"], new["sat"], new["dat"]) == (old["sid"], old["sat"], old["dat"])
    assert COOKIE not in bob_client.get("/whoami/").cookies  # slid: quiet again


def test_session_older_than_max_lifetime_is_refused(bob_client: Client) -> None:
    now = int(time.time())
    started = now - get_settings().max_lifetime - 60
    resign_session(bob_client, sat=started, iat=now - 60, exp=now + 600)
    response = bob_client.get("/whoami/")
    assert response.json() == {"authenticated": False}
    assert_cookie_deleted(response)


def test_exp_never_passes_the_max_lifetime(bob_client: Client) -> None:
    now = int(time.time())
    started = now - get_settings().max_lifetime + 600
    age = get_settings().update_age + 60
    resign_session(
        bob_client, sat=started, iat=now - age, exp=started + get_settings().max_lifetime
    )
    response = bob_client.get("/whoami/")
    assert response.json()["username"] == "bob"
    morsel = response.cookies[COOKIE]
    assert token_payload(morsel.value)["exp"] <= started + get_settings().max_lifetime
    assert 0 < morsel["max-age"] <= 600


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "new-session"])
def test_max_lifetime_caps_a_long_set_expiry(bob: User, signed_in: bool) -> None:
    client = Client()
    with jwtsession_settings(MAX_LIFETIME=3600):
        if signed_in:
            client.force_login(bob)
        response = client.get(f"/expiry/?seconds={7 * 24 * 3600}")
        morsel = response.cookies[COOKIE]
        payload = token_payload(morsel.value)
        assert payload["exp"] <= payload["sat"] + 3600
        assert 0 < morsel["max-age"] <= 3600
        assert whoami(client).get("username") == ("bob" if signed_in else None)


# -- key rotation --------------------------------------------------------------------------------


@pytest.mark.strategies("jwt")  # tokens, keys and cookie chunks
def test_key_rotation_keeps_the_session_and_reissues_under_the_new_key(
    bob: User, django_assert_num_queries: Any
) -> None:
    client = Client()
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert client.login(username="bob", password=PASSWORD)
        old_kid = get_key_ring().current.kid
    old_token = session_token(client)
    assert token_header(old_token)["kid"] == old_kid

    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        new_kid = get_key_ring().current.kid
        # The session's auth hash was made with the old SECRET_KEY: it is checked now and
        # upgraded, the session moving to a new id, as Django's get_user() does.
        response = client.get("/whoami/")
        assert response.json()["username"] == "bob"
        reissued = response.cookies[COOKIE].value
        assert token_header(reissued)["kid"] == new_kid != old_kid
        assert token_payload(reissued)["sat"] == token_payload(old_token)["sat"]
        assert token_payload(reissued)["sid"] != token_payload(old_token)["sid"]
        with django_assert_num_queries(0):
            assert COOKIE not in client.get("/whoami/").cookies  # re-issued once

    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert whoami(client)["username"] == "bob"  # the new key alone verifies it
    assert whoami(Client()) == {"authenticated": False}
    client.cookies[COOKIE] = old_token
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert whoami(client) == {"authenticated": False}  # the retired key no longer does


def test_key_rotation_upgrades_the_session_auth_hash_on_the_next_request(bob: User) -> None:
    client = Client()
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert client.login(username="bob", password=PASSWORD)
        old_hash = client.session[HASH_SESSION_KEY]
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        assert whoami(client)["username"] == "bob"  # claims fresh, but made under the old key
        assert client.session[HASH_SESSION_KEY] != old_hash
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert whoami(client)["username"] == "bob"  # upgraded: the fallback can go


def test_replacing_the_secret_key_ends_sessions_on_their_next_request(bob: User) -> None:
    """A leaked SECRET_KEY replaced without a fallback: every session ends at once, claims
    fresh or not, as with Django's own sessions (the auth hash no longer verifies)."""
    client = Client()
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert client.login(username="bob", password=PASSWORD)
        assert whoami(client)["username"] == "bob"
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert whoami(client) == {"authenticated": False}


def test_a_session_not_seen_during_the_rotation_ends_when_the_fallback_goes(bob: User) -> None:
    client = Client()
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert client.login(username="bob", password=PASSWORD)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert whoami(client) == {"authenticated": False}


# -- cookie size ---------------------------------------------------------------------------------


@pytest.mark.strategies("jwt")  # tokens, keys and cookie chunks
@jwtsession_settings(MAX_TOKEN_BYTES=16384)  # over the default: five chunks
def test_big_session_round_trips_in_chunked_cookies(
    bob_client: Client, django_assert_num_queries: Any
) -> None:
    response = bob_client.get("/set-big/?size=10000")
    names = [COOKIE, *(f"{COOKIE}.{index}" for index in range(1, len(response.cookies)))]
    assert sorted(response.cookies) == sorted(names)
    assert len(names) >= 3
    first = response.cookies[COOKIE]
    for name in names:
        morsel = response.cookies[name]
        assert 0 < len(morsel.value) <= CHUNK_SIZE
        for attribute in ("max-age", "path", "httponly", "samesite"):
            assert morsel[attribute] == first[attribute]
    assert bob_client.get("/get/?big").json() == {"big": "x" * 10_000}
    with django_assert_num_queries(0):
        assert whoami(bob_client)["username"] == "bob"

    response = bob_client.get("/set-big/?size=10")
    assert response.cookies[COOKIE].value
    for name in names[1:]:
        assert_cookie_deleted(response, name)
    drop_deleted_cookies(bob_client, response)
    assert set(bob_client.cookies) == {COOKIE}
    assert bob_client.get("/get/?big").json() == {"big": "x" * 10}
    assert whoami(bob_client)["username"] == "bob"


def _cookie_header(client: Client) -> str:
    return "; ".join(f"{name}={m.value}" for name, m in client.cookies.items() if m.value)


@pytest.mark.strategies("jwt")  # tokens, keys and cookie chunks
def test_default_limit_keeps_the_cookie_header_under_8_kb(bob: User, bob_client: Client) -> None:
    """The largest session the defaults issue still fits gunicorn's 8190-byte header field."""
    fits, too_big = 0, get_settings().max_token_bytes
    while too_big - fits > 1:  # the largest session value that still fits in a token
        size = (fits + too_big) // 2
        probe = Client()
        probe.force_login(bob)
        probe.get(f"/set-big/?size={size}")
        if session_token(probe).startswith(SPILL_PREFIX):
            too_big = size
        else:
            fits = size
    response = bob_client.get(f"/set-big/?size={fits}")
    assert len(response.cookies) == 2  # two chunks
    assert len(_cookie_header(bob_client)) < 8190
    assert whoami(bob_client)["username"] == "bob"


def test_stale_chunk_next_to_a_short_token_is_ignored_and_deleted(bob_client: Client) -> None:
    bob_client.cookies[f"{COOKIE}.1"] = "left-over-from-a-longer-token"
    response = bob_client.get("/whoami/")
    assert response.json()["username"] == "bob"
    assert_cookie_deleted(response, f"{COOKIE}.1")
    assert COOKIE not in response.cookies  # the session cookie itself is untouched


@pytest.mark.strategies("jwt")  # tokens, keys and cookie chunks
def test_stale_chunk_after_the_last_chunk_is_ignored_and_deleted(bob_client: Client) -> None:
    response = bob_client.get("/set-big/?size=4000")
    assert sorted(response.cookies) == [COOKIE, f"{COOKIE}.1"]
    bob_client.cookies[f"{COOKIE}.2"] = "x" * CHUNK_SIZE
    response = bob_client.get("/get/?big")
    assert response.json() == {"big": "x" * 4000}
    assert sorted(response.cookies) == [f"{COOKIE}.2"]
    assert_cookie_deleted(response, f"{COOKIE}.2")


@pytest.mark.django_db
def test_orphan_chunks_without_the_session_cookie_are_deleted() -> None:
    client = Client()
    client.cookies[f"{COOKIE}.1"] = "x" * 100
    client.cookies[f"{COOKIE}.3"] = "y" * 100
    client.cookies[f"{COOKIE}.note"] = "not a chunk"
    response = client.get("/whoami/")
    assert response.json() == {"authenticated": False}
    assert sorted(response.cookies) == [f"{COOKIE}.1", f"{COOKIE}.3"]
    for name in response.cookies:
        assert_cookie_deleted(response, name)


@pytest.mark.strategies("jwt")  # tokens, keys and cookie chunks
def test_a_session_over_max_token_bytes_spills_to_its_record(
    bob_client: Client, cache_calls: list[str], django_assert_num_queries: Any
) -> None:
    """Never a 500 for size: the session moves to its record (an ``s1.`` key), the token
    it had is revoked, and it reads like a warm db session (one cache round trip)."""
    before = session_token(bob_client)
    limit = get_settings().max_token_bytes
    response = bob_client.get(f"/set-big/?size={limit}")
    assert response.status_code == 200
    spilled = session_token(bob_client)
    assert spilled.startswith(SPILL_PREFIX)
    assert len(spilled) < 200
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert whoami(bob_client)["username"] == "bob"
    assert cache_calls == ["get_many"]
    assert len(bob_client.get("/get/?big").json()["big"]) == limit
    replay = Client()
    replay.cookies[COOKIE] = before
    assert whoami(replay) == {"authenticated": False}  # the token it grew out of is revoked


@pytest.mark.strategies("jwt")
@pytest.mark.django_db
def test_a_user_with_very_many_roles_signs_in(configure: Configure) -> None:
    """Claims too large for a token: the session spills, the user is signed in."""
    configure(MAX_TOKEN_BYTES=1024)
    make_user("many", roles=tuple(f"role-{index:03}" for index in range(60)))
    client = Client()
    response = client.post("/accounts/login/", {"username": "many", "password": PASSWORD})
    assert response.status_code == 302
    assert session_token(client).startswith(SPILL_PREFIX)
    assert len(whoami(client)["roles"]) == 60


@pytest.mark.strategies("jwt")
@pytest.mark.django_db
def test_a_store_over_max_token_bytes_spills_and_reads_back() -> None:
    store = SessionStore()
    store["big"] = "x" * 100
    with jwtsession_settings(MAX_TOKEN_BYTES=1024):
        store.save()
        assert str(store.session_key).startswith("ey")
        store["big"] = "x" * 1000
        store.save()
        assert str(store.session_key).startswith(SPILL_PREFIX)
        assert SessionStore(store.session_key)["big"] == "x" * 1000


def test_a_session_read_where_it_cannot_move_is_checked_again_later(bob: User) -> None:
    """A websocket cannot hand out a new cookie, so it does not upgrade the auth hash (which
    moves the session to a new id); the session must then not pass for upgraded: once the
    fallback goes, it ends."""
    from django_jwtsession.backends.session import SessionStore as ConfiguredStore

    client = Client()
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert client.login(username="bob", password=PASSWORD)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        store = ConfiguredStore(session_token(client))
        store.can_move = False
        assert store.load()  # claims rebuilt under the fallback, the session not moved
        store.save()
        kept = str(store.session_key)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert ConfiguredStore(kept).get("_auth_user_id") is None
