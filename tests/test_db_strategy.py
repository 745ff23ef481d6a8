"""What only the ``db`` strategy has: its key format, its row, concurrent saves."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from django_jwtsession.backends.db import SessionStore
from django_jwtsession.models import SessionRecord
from tests.helpers import Configure, jwtsession_settings, session_token

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("db_strategy")]
COOKIE = django_settings.SESSION_COOKIE_NAME


@pytest.fixture
def db_strategy(configure: Configure) -> None:
    configure(STRATEGY="db")


def test_a_save_that_only_refreshed_never_undoes_a_concurrent_write(bob_client: Client) -> None:
    bob_client.get("/set/?cart=1")
    key = session_token(bob_client)
    slow, fast = SessionStore(key), SessionStore(key)
    assert slow["cart"] == fast["cart"] == "1"
    fast["cart"] = "2"
    fast.save()
    slow.modified = True  # e.g. its claims were rebuilt, or UPDATE_AGE passed
    slow.save()
    assert Client(headers={"Cookie": f"{COOKIE}={key}"}).get("/get/?cart").json() == {"cart": "2"}
    assert SessionStore(key)["cart"] == "2"


@pytest.mark.parametrize(
    "hint",
    ["AA", "CQ", "IA", "%%%", "_" * 341, "4pyT"],
    ids=["nul", "tab", "space", "bad", "long", "ok-but-unknown"],
)
def test_a_forged_hint_is_refused_without_a_database_error(
    db: None, hint: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = Client(raise_request_exception=True).get(
        "/whoami/", headers={"Cookie": f"{COOKIE}=d1.{'Q' * 43}.{hint}"}
    )
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert response.cookies[COOKIE].value == ""  # refused and deleted, not "unavailable"
    assert "WARNING" not in caplog.text


def test_delete_without_loading_ends_the_session(bob_client: Client) -> None:
    key = session_token(bob_client)
    SessionStore(key).delete()
    assert bob_client.get("/whoami/").json() == {"authenticated": False}
    other = Client()
    other.force_login(User.objects.get(username="bob"))
    SessionStore().delete(session_token(other))  # Django's API: delete another key
    assert other.get("/whoami/").json() == {"authenticated": False}


@pytest.mark.parametrize(
    "meta",
    ['{"exp": "soon"}', "[]", '{"iat": 1}', "not json"],
    ids=["string-exp", "list", "missing-keys", "not-json"],
)
def test_a_row_of_the_wrong_shape_is_refused(bob_client: Client, meta: str) -> None:
    token = session_token(bob_client)
    SessionRecord.objects.filter(user__username="bob").update(meta=meta)
    from django.core.cache import caches

    caches["default"].clear()
    response = Client().get("/whoami/", headers={"Cookie": f"{COOKIE}={token}"})
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}


def test_async_expiry_is_capped_by_max_lifetime_too(bob_client: Client) -> None:
    store = SessionStore(session_token(bob_client))
    with jwtsession_settings(STRATEGY="db", MAX_LIFETIME=3600):
        assert 3500 < async_to_sync(store.aget_expiry_age)() <= 3600
        assert async_to_sync(store.aget_expiry_age)() == store.get_expiry_age()
