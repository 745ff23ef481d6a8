"""Django's own session and auth contract, where our stores once broke it (issue 11).

Each test is one break found by running Django's ``sessions_tests`` and ``auth_tests``
against both strategies; ``test_django_contract.py`` runs those suites themselves.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches
from django.core.management import call_command
from django.db.models.signals import m2m_changed, post_init, post_save
from django.http import HttpRequest
from django.test import Client, override_settings
from django.utils import timezone

from django_jwtsession.backends.session import SessionStore
from django_jwtsession.backends.table_storage import entry_key
from django_jwtsession.conf import get_settings
from django_jwtsession.models import SessionRecord, StateEntry
from django_jwtsession.revocation import revoke_user
from tests.helpers import PASSWORD, client_session_id, session_token, user_model_has_groups

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
COOKIE = settings.SESSION_COOKIE_NAME


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


# -- 1. USE_TZ = False ---------------------------------------------------------------------------


def test_sessions_work_with_use_tz_off(bob: User, settings: Any) -> None:
    settings.USE_TZ = False
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    assert client.get("/set/?color=blue").status_code == 200
    assert whoami(client)["username"] == "bob"
    record = SessionRecord.objects.get(user=bob)
    assert timezone.is_naive(record.expires)
    assert record.expires > timezone.now()
    call_command("clearsessions")
    assert client.get("/get/?color").json() == {"color": "blue"}


# -- 2. receivers only where they belong -----------------------------------------------------------


def test_model_receivers_are_connected_to_their_senders_only() -> None:
    """Other models' instances pay nothing: no receiver of ours runs for a Permission."""
    user_model = get_user_model()
    assert post_init.has_listeners(user_model)
    assert not post_init.has_listeners(Permission)
    assert not m2m_changed.has_listeners(Group.permissions.through)
    if user_model_has_groups():
        assert post_save.has_listeners(Group)  # a renamed group changes roles
        assert m2m_changed.has_listeners(user_model.groups.through)  # type: ignore[attr-defined]
    else:
        assert not post_save.has_listeners(Group)


# -- 3. a lazy request.user ----------------------------------------------------------------------


def test_an_untouched_request_reads_no_session(
    bob_client: Client, cache_calls: list[str], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = bob_client.get("/plain/")
    assert cache_calls == []
    assert "Vary" not in response.headers
    assert COOKIE not in response.cookies


def test_an_anonymous_visitor_gets_no_vary_cookie(cache_calls: list[str]) -> None:
    response = Client().get("/plain/")
    assert "Vary" not in response.headers
    assert cache_calls == []


def test_touching_request_user_reads_the_session_once(
    bob_client: Client, cache_calls: list[str], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert whoami(bob_client)["username"] == "bob"
    assert cache_calls == ["get_many"]


def test_the_auth_context_processor_does_not_access_the_session(bob_client: Client) -> None:
    response = bob_client.get("/template-without-user/")
    assert response.content == b"not accessed"
    assert "Vary" not in response.headers


# -- 4. cycle_key() changes the key at once ------------------------------------------------------


def test_cycle_key_changes_the_session_key_at_once() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    before = store.session_key
    store.cycle_key()
    assert store.session_key not in (None, before)
    assert store.exists(before) is False
    assert dict(store.items()) == {"a": 1}
    store.save()
    assert SessionStore(store.session_key)["a"] == 1


def test_a_signed_in_cycle_ends_the_old_key(bob_client: Client) -> None:
    old = session_token(bob_client)
    new_id = bob_client.get("/cycle/").content.decode()
    assert new_id != ""
    assert client_session_id(bob_client) == new_id
    replay = Client()
    replay.cookies[COOKIE] = old
    assert whoami(replay) == {"authenticated": False}
    assert whoami(bob_client)["username"] == "bob"


def test_get_user_with_a_fallback_secret_cycles_the_key(bob: User) -> None:
    """Django's ``auth_tests.test_basic…test_get_user_fallback_secret``."""
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    request = HttpRequest()
    request.session = client.session
    before = request.session.session_key
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert get_user(request).get_username() == "bob"
        assert request.session.session_key != before
    with override_settings(SECRET_KEY="new-secret"):
        assert get_user(request).get_username() == "bob"  # the hash moved to the new key


# -- 5 and 6. the db strategy's exists() and no resurrection -------------------------------------


@pytest.mark.strategies("db")
def test_db_exists_answers_from_the_cache_or_the_table() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    assert store.exists(key) is True
    caches[get_settings().cache_alias].clear()
    assert store.exists(key) is True  # from the table
    store.delete()
    assert store.exists(key) is False
    assert store.exists("d1." + "x" * 43) is False
    assert store.exists(None) is False


@pytest.mark.strategies("db")
def test_a_session_deleted_elsewhere_is_not_resurrected() -> None:
    first = SessionStore()
    first["data"] = "one"
    first.save(must_create=True)
    key = first.session_key
    assert key is not None
    SessionStore(key).delete()  # a logout in another request
    first["data"] = "two"
    with pytest.raises(UpdateError):  # SessionMiddleware answers SessionInterrupted (400)
        first.save()
    assert SessionStore(key).load() == {}
    cached = caches[get_settings().cache_alias].get(entry_key(first.session_id or ""))
    assert not isinstance(cached, dict)  # not refilled with the old data


@pytest.mark.strategies("db")
def test_a_signed_in_session_revoked_during_a_request_is_not_saved(bob: User) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    store = SessionStore(session_token(client))
    store["late"] = "write"  # loads: signed in
    revoke_user(bob)  # meanwhile, elsewhere
    store.save()
    assert store.ended_on_save is True
    assert store.session_key is None
    assert whoami(client) == {"authenticated": False}


# -- 7. delete() without a load, and delete(other_key) -------------------------------------------


def test_delete_of_an_unloaded_store_ends_the_session(bob_client: Client) -> None:
    SessionStore(session_token(bob_client)).delete()
    assert whoami(bob_client) == {"authenticated": False}


def test_delete_of_another_key_ends_that_session(bob: User) -> None:
    other = Client()
    assert other.login(username="bob", password=PASSWORD)
    mine = SessionStore()
    mine["a"] = 1
    mine.save()
    mine.delete(session_token(other))
    assert whoami(other) == {"authenticated": False}
    assert SessionStore(mine.session_key)["a"] == 1  # its own session is untouched


def test_delete_of_an_anonymous_session_writes_no_state(strategy: str) -> None:
    store = SessionStore()
    store["cart"] = [1]
    store.save()
    SessionStore(store.session_key).delete()
    assert not StateEntry.objects.exists()


# -- the plain-class engine ----------------------------------------------------------------------


def test_the_engine_is_a_plain_class(strategy: str) -> None:
    store = SessionStore()
    assert isinstance(store, SessionStore)
    assert store.strategy == strategy
