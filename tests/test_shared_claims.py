"""Claims rebuilt once per (user, mark version) and shared by every session of that user."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_jwtsession import metrics, shared_claims
from django_jwtsession.backends.session import SessionStore
from django_jwtsession.claims import Claims, default_provider
from django_jwtsession.revocation import mark_for_refresh
from django_jwtsession.state import read_state
from tests.helpers import PASSWORD, Configure, make_user, session_token, set_roles

User = get_user_model()
pytestmark = [pytest.mark.usefixtures("strategy"), pytest.mark.django_db]
USER_TABLES = (User._meta.db_table, "auth_group", "auth_user_groups", "testapp_role")


def login(username: str = "bob") -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def whoami(client: Client) -> dict[str, Any]:
    response = client.get("/whoami/")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def replay(token: str) -> Client:
    """A client that ignores Set-Cookie: it presents ``token`` every time."""
    client = Client()
    client.cookies["sessionid"] = token
    return client


def user_queries(queries: CaptureQueriesContext) -> list[str]:
    """The queries that read the user, its roles or its plan: a claims rebuild."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if any(f'"{table}"' in query["sql"] for table in (*USER_TABLES, "testapp_plan"))
    ]


@pytest.mark.needs_groups
def test_a_client_replaying_its_pre_mark_cookie_costs_no_sql_after_the_first_rebuild(
    django_capture_on_commit_callbacks: Any, strategy: str
) -> None:
    bob = make_user("bob", roles=("editor",))
    before_mark = session_token(login())
    other = login()  # another device, rebuilt first
    with django_capture_on_commit_callbacks(execute=True):
        set_roles(bob, ["admin"])  # marks bob
    assert whoami(other)["roles"] == ["admin"]  # the one rebuild (SQL), shared
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert whoami(replay(before_mark))["roles"] == ["admin"]
        if strategy == "jwt":
            assert queries.captured_queries == []  # the token never changes: 0 SQL, every time
        else:  # the stored session takes the new claims once (its row is the session)
            assert user_queries(queries) == []
    assert metrics._buffer["refresh.shared"] >= 1


def test_claims_older_than_the_ttl_are_shared_too(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("bob")
    first, second = login(), login()
    real, later = time.time, [0]
    monkeypatch.setattr("time.time", lambda: real() + later[0])
    whoami(first), whoami(second)
    later[0] = 301  # CLAIMS_TTL passed for both
    with CaptureQueriesContext(connection) as queries:
        assert whoami(first)["username"] == "bob"
    assert user_queries(queries)  # rebuilt
    with CaptureQueriesContext(connection) as queries:
        assert whoami(second)["username"] == "bob"
    assert user_queries(queries) == []  # taken


def test_a_session_whose_password_changed_never_takes_them(
    django_capture_on_commit_callbacks: Any,
) -> None:
    bob = make_user("bob")
    old_password_session = login()
    whoami(old_password_session)
    User.objects.filter(pk=bob.pk).update(password=make_password("new-password"))  # no signal
    new_password_session = Client()
    assert new_password_session.login(username="bob", password="new-password")
    with django_capture_on_commit_callbacks(execute=True):
        mark_for_refresh(bob)
    assert whoami(new_password_session)["authenticated"]  # rebuilt and shared, under the new hash
    assert whoami(old_password_session) == {"authenticated": False}  # its hash: rebuilt, ended


def test_a_user_made_inactive_is_never_given_shared_claims(
    django_capture_on_commit_callbacks: Any,
) -> None:
    bob = make_user("bob")
    first, second = login(), login()
    whoami(first), whoami(second)
    with django_capture_on_commit_callbacks(execute=True):
        bob.is_active = False
        bob.save()  # marks bob: the new mark version has no shared claims
    assert whoami(first) == {"authenticated": False}
    assert whoami(second) == {"authenticated": False}


def test_claims_written_by_anyone_else_are_ignored(
    django_capture_on_commit_callbacks: Any,
) -> None:
    bob = make_user("bob")
    client = login()
    whoami(client)
    with django_capture_on_commit_callbacks(execute=True):
        mark_for_refresh(bob)
    mark = read_state(str(bob.pk), None).mark
    forged = Claims(user_id=str(bob.pk), username="bob", is_superuser=True, roles=frozenset({"x"}))
    session = SessionStore(session_token(client))
    entry = {
        "clm": forged.to_dict(),
        "cat": session.started_at,
        "mv": mark,
        "hk": session.identity.hash_key if session.identity else "",
        "ah": session["_auth_user_hash"],
        "be": session["_auth_user_backend"],
        "sig": "0" * 64,
    }
    caches["default"].set(shared_claims.entry_key(str(bob.pk), mark), entry, 300)
    with CaptureQueriesContext(connection) as queries:
        data = whoami(client)
    assert (data["is_superuser"], data["roles"]) == (False, [])
    assert user_queries(queries)  # rebuilt from the database instead


@pytest.mark.django_db(transaction=True)  # the other threads see the committed user
def test_concurrent_rebuilds_of_one_users_claims_are_single_flight(
    configure: Configure, strategy: str
) -> None:
    """Five requests of one user find their claims marked at once: one rebuilds them (the
    provider runs once), the others wait for it and take its claims."""
    threads = 5
    bob = make_user("bob")
    tokens = [session_token(login()) for _ in range(threads)]
    mark_for_refresh(bob)  # autocommit: copied to the cache
    mark = read_state(str(bob.pk), None).mark
    built: list[str] = []

    def slow_provider(user: Any) -> Claims:
        """Hold the rebuild until the four others wait for it (bounded: never hangs)."""
        built.append(threading.current_thread().name)
        flight = shared_claims._flights.get(shared_claims.entry_key(str(bob.pk), mark))
        for _ in range(500):
            if flight is not None and flight.followers == threads - 1:
                break
            threading.Event().wait(0.01)
        return default_provider(user)

    configure(CLAIMS_PROVIDER=slow_provider)
    reasons: list[str | None] = []

    def load(token: str) -> None:
        try:
            store = SessionStore(token)
            store.load()
            reasons.append(store.refresh_reason)
        finally:
            connection.close()

    workers = [threading.Thread(target=load, args=(token,)) for token in tokens]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert len(built) == 1
    assert sorted(reasons, key=str) == ["mark", *["shared"] * (threads - 1)]
