"""Marks and revocation: fresh claims on the next request, sessions ended at once."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client, override_settings
from django.utils import timezone

from django_jwtsession import claims as claims_module
from django_jwtsession.conf import get_settings
from django_jwtsession.keyspace import epoch_key, mark_key, session_hash
from django_jwtsession.models import StateEntry
from django_jwtsession.revocation import mark_for_refresh, revoke_all, revoke_session, revoke_user
from django_jwtsession.signals import claims_refreshed
from django_jwtsession.state import read_state
from tests.helpers import (
    PASSWORD,
    Configure,
    add_dead_cache,
    client_session_id,
    jwtsession_settings,
    make_user,
    refresh_queries,
    resign_session,
    session_token,
    set_roles,
    state_cache_key,
    token_payload,
    token_session_id,
)
from tests.testapp.models import Plan

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

ROOT = Path(__file__).resolve().parent.parent


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


def login(username: str = "bob") -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


# -- the hot path --------------------------------------------------------------------------------


def test_steady_state_is_zero_sql_and_one_cache_round_trip(
    bob_client: Client, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    whoami(bob_client)  # warm
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert whoami(bob_client)["roles"] == ["editor"]
    assert cache_calls == ["get_many"]


@pytest.mark.strategies("db")
def test_db_strategy_cold_cache_costs_one_query_then_none(
    bob_client: Client, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    """The session row and the state entries come back in one query, and refill the cache."""
    caches["default"].clear()
    cache_calls.clear()
    with django_assert_num_queries(1):
        assert whoami(bob_client)["roles"] == ["editor"]
    assert cache_calls[0] == "get_many"
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert whoami(bob_client)["roles"] == ["editor"]
    assert cache_calls == ["get_many"]


@pytest.mark.strategies("db")
def test_db_strategy_anonymous_session_costs_one_cache_round_trip(
    db: None, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    client = Client()
    client.get("/set/?color=blue")
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert client.get("/get/?color").json() == {"color": "blue"}
    assert cache_calls == ["get_many"]


def test_anonymous_request_touches_no_cache(db: None, cache_calls: list[str]) -> None:
    assert Client().get("/whoami/").json() == {"authenticated": False}
    assert cache_calls == []


# -- every signal path marks ---------------------------------------------------------------------


def add_admin(bob: User) -> None:
    bob.groups.add(Group.objects.create(name="admin"))


def remove_editor(bob: User) -> None:
    bob.groups.remove(Group.objects.get(name="editor"))


def clear_groups(bob: User) -> None:
    bob.groups.clear()


def set_groups(bob: User) -> None:
    bob.groups.set([Group.objects.create(name="admin")])


def group_side_add(bob: User) -> None:
    Group.objects.create(name="admin").user_set.add(bob)


def group_side_remove(bob: User) -> None:
    Group.objects.get(name="editor").user_set.remove(bob)


def group_side_clear(bob: User) -> None:
    Group.objects.get(name="editor").user_set.clear()


def rename_group(bob: User) -> None:
    group = Group.objects.get(name="editor")
    group.name = "admin"
    group.save()


def delete_group(bob: User) -> None:
    Group.objects.get(name="editor").delete()


@pytest.mark.needs_groups
@pytest.mark.parametrize(
    ("change", "roles"),
    [
        (add_admin, ["admin", "editor"]),
        (remove_editor, []),
        (clear_groups, []),
        (set_groups, ["admin"]),
        (group_side_add, ["admin", "editor"]),
        (group_side_remove, []),
        (group_side_clear, []),
        (rename_group, ["admin"]),
        (delete_group, []),
    ],
)
def test_group_changes_show_on_the_next_request(
    bob: User, bob_client: Client, change: Any, roles: list[str]
) -> None:
    assert whoami(bob_client)["roles"] == ["editor"]
    change(bob)
    assert whoami(bob_client)["roles"] == roles


def test_a_many_to_many_change_elsewhere_marks_nobody(bob: User, bob_client: Client) -> None:
    """Only group membership is tracked; any other many-to-many relation marks nobody."""
    whoami(bob_client)
    entries = StateEntry.objects.count()
    auditors = Group.objects.bulk_create([Group(name="auditors")])[0]  # no post_save: only m2m
    auditors.permissions.add(Permission.objects.get(codename="view_plan"))
    assert StateEntry.objects.count() == entries
    assert whoami(bob_client)["roles"] == ["editor"]


def test_user_field_changes_show_on_the_next_request(bob: User, bob_client: Client) -> None:
    bob.is_staff = True
    bob.username = "robert"
    bob.save()
    data = whoami(bob_client)
    assert (data["is_staff"], data["username"]) == (True, "robert")


@pytest.mark.parametrize("operation", ["save", "delete"])
def test_marked_model_change_shows_on_the_next_request(
    bob: User, bob_client: Client, operation: str
) -> None:
    with jwtsession_settings(MARK_MODELS={"testapp.Plan": "user"}):
        assert whoami(bob_client)["tier"] == "pro"
        plan = Plan.objects.get(user=bob)
        if operation == "save":
            plan.tier = "enterprise"
            plan.save()
        else:
            plan.delete()
        assert whoami(bob_client)["tier"] == ("enterprise" if operation == "save" else "free")


def test_unmarked_model_change_waits_for_the_ttl(bob: User, bob_client: Client) -> None:
    """Without MARK_MODELS, a subscription change is bounded by CLAIMS_TTL only."""
    plan = Plan.objects.get(user=bob)
    plan.tier = "enterprise"
    plan.save()
    assert whoami(bob_client)["tier"] == "pro"


def test_bulk_update_is_covered_by_mark_for_refresh_queryset(bob: User, bob_client: Client) -> None:
    User.objects.filter(pk=bob.pk).update(is_staff=True)  # sends no signal
    assert whoami(bob_client)["is_staff"] is False
    mark_for_refresh(User.objects.filter(pk=bob.pk))
    assert whoami(bob_client)["is_staff"] is True


def test_refresh_after_a_mark_costs_two_queries_and_the_record(
    bob: User,
    bob_client: Client,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    whoami(bob_client)
    with django_capture_on_commit_callbacks(execute=True):  # the commit mirrors the cache
        set_roles(bob, ["admin", "editor"])
    with refresh_queries(claims=2):
        assert whoami(bob_client)["roles"] == ["admin", "editor"]


def mark_version(user: User) -> int:
    """The user's mark version in the database (0: never marked)."""
    entry = StateEntry.objects.filter(key=mark_key(user.pk)).first()
    return entry.version if entry else 0


def test_marks_survive_a_cache_flush(bob: User, bob_client: Client) -> None:
    whoami(bob_client)
    before = mark_version(bob)
    User.objects.filter(pk=bob.pk).update(is_staff=True)
    mark_for_refresh(bob)
    caches["default"].clear()
    assert whoami(bob_client)["is_staff"] is True
    assert mark_version(bob) == before + 1


def test_a_mark_during_a_refresh_is_not_lost(bob: User, bob_client: Client) -> None:
    """The mark version is read before the claims are built: a mark made meanwhile wins."""
    calls = 0

    def racing_provider(user: Any) -> claims_module.Claims:
        nonlocal calls
        calls += 1
        built = claims_module.default_provider(user)
        if calls == 1:  # another request promotes bob while this refresh runs
            set_roles(bob, ["admin", "editor"])
        return built

    bob.is_staff = True
    bob.save()  # mark 1
    with jwtsession_settings(CLAIMS_PROVIDER=racing_provider):
        assert whoami(bob_client)["roles"] == ["editor"]  # built before the mark
        assert whoami(bob_client)["roles"] == ["admin", "editor"]  # the newer mark rebuilds


# -- revocation ----------------------------------------------------------------------------------


def test_revoke_session_ends_only_that_session(bob: User) -> None:
    first, second = login(), login()
    first_id = token_payload(session_token(first))["sid"]
    revoke_session(session_hash(first_id))
    assert whoami(first) == {"authenticated": False}
    assert whoami(second)["authenticated"] is True


def test_revoke_user_ends_every_session_of_that_user_only(bob: User) -> None:
    make_user("carol")
    first, second, carol = login(), login(), login("carol")
    revoke_user(bob)
    assert whoami(first) == {"authenticated": False}
    assert whoami(second) == {"authenticated": False}
    assert whoami(carol)["authenticated"] is True
    assert whoami(login())["authenticated"] is True  # logging in again works


def test_revoke_all_ends_every_session(bob: User) -> None:
    make_user("carol")
    bob_session, carol = login(), login("carol")
    revoke_all()
    assert whoami(bob_session) == {"authenticated": False}
    assert whoami(carol) == {"authenticated": False}
    assert whoami(login("carol"))["authenticated"] is True


def test_revoked_cookie_is_deleted(bob: User, bob_client: Client) -> None:
    revoke_user(bob)
    response = bob_client.get("/whoami/")
    assert response.cookies["sessionid"]["max-age"] == 0


def test_replay_after_logout_is_anonymous(bob: User, bob_client: Client) -> None:
    copied = session_token(bob_client)
    bob_client.post("/accounts/logout/")
    replay = Client()
    replay.cookies["sessionid"] = copied
    assert whoami(replay) == {"authenticated": False}


def test_password_change_ends_other_sessions_and_keeps_this_one(bob: User) -> None:
    here, elsewhere = login(), login()
    copied = session_token(here)
    assert here.post("/password/", {"password": "a-new-password-123"}).status_code == 200
    assert whoami(here)["authenticated"] is True
    assert whoami(elsewhere) == {"authenticated": False}
    replay = Client()
    replay.cookies["sessionid"] = copied  # the cookie from before the change
    assert whoami(replay) == {"authenticated": False}


@pytest.mark.parametrize("how", ["deactivate", "delete"])
def test_deactivated_or_deleted_user_loses_sessions_at_once(
    bob: User, bob_client: Client, how: str
) -> None:
    assert whoami(bob_client)["authenticated"] is True
    if how == "deactivate":
        bob.is_active = False
        bob.save()
    else:
        bob.delete()
    assert whoami(bob_client) == {"authenticated": False}


def test_unreachable_cache_falls_back_to_the_database(bob: User, settings: Any) -> None:
    """With the cache down, no 500 and no revoked session is accepted."""
    first, second = login(), login()
    revoke_session(session_hash(token_payload(session_token(first))["sid"]))
    add_dead_cache(settings)
    with jwtsession_settings(CACHE_ALIAS="down"):
        assert whoami(first) == {"authenticated": False}
        assert whoami(second)["authenticated"] is True
        revoke_user(bob)  # a write with the cache down still lands in the database
        assert whoami(second) == {"authenticated": False}


# -- the commands and other processes ------------------------------------------------------------


def test_mark_and_revoke_commands(bob: User, bob_client: Client) -> None:
    User.objects.filter(pk=bob.pk).update(is_staff=True)
    call_command("jwtsession_mark", "bob", stdout=io.StringIO())
    assert whoami(bob_client)["is_staff"] is True
    call_command("jwtsession_revoke", str(bob.pk), stdout=io.StringIO())
    assert whoami(bob_client) == {"authenticated": False}
    with pytest.raises(CommandError):
        call_command("jwtsession_mark", "nobody")
    with pytest.raises(CommandError):
        call_command("jwtsession_revoke")


@pytest.mark.django_db(transaction=True)  # the commands' writes really commit
def test_commands_say_when_the_cache_could_not_be_updated(
    settings: Any, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("bob")
    add_dead_cache(settings)
    configure(CACHE_ALIAS="down")
    for command in ("jwtsession_mark", "jwtsession_revoke"):
        with pytest.raises(CommandError, match="cache could not be updated"):
            call_command(command, "bob", stdout=io.StringIO())
    configure(CACHE_ALIAS="default")
    call_command("jwtsession_revoke", "--all", stdout=io.StringIO())  # the backlog goes too
    cache = caches["default"]
    bob = User.objects.get(username="bob")
    assert cache.get(state_cache_key(mark_key(bob.pk))) == 1
    assert cache.get(state_cache_key(epoch_key(bob.pk))) == 1
    assert "could not be copied to the cache" in caplog.text


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="another OS process shares the test database only on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_mark_from_another_process_is_seen() -> None:
    bob = make_user("bob", roles=("editor",))
    client = login()
    assert whoami(client)["is_staff"] is False
    User.objects.filter(pk=bob.pk).update(is_staff=True)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],  # this run's
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sandbox_project'}",
    }
    subprocess.run(
        [sys.executable, "-m", "django", "jwtsession_mark", str(bob.pk)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert whoami(client)["is_staff"] is True


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite's shared in-memory test database locks tables under concurrent writers; "
    "test_a_mark_during_a_refresh_is_not_lost covers the race deterministically on both",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_racing_a_mark_end_with_the_newest_claims() -> None:
    bob = make_user("bob", roles=("editor",))
    clients = [login(), login()]
    errors: list[BaseException] = []

    def hammer(client: Client) -> None:
        try:
            for _ in range(5):
                whoami(client)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=hammer, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    set_roles(bob, ["admin", "editor"])
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for client in clients:
        assert whoami(client)["roles"] == ["admin", "editor"]


def test_read_state_defaults(db: None) -> None:
    state = read_state("12345", "a" * 32)
    assert (state.mark, state.user_epoch, state.global_epoch, state.session_revoked) == (
        0,
        0,
        0,
        False,
    )


def test_clearsessions_prunes_old_revoked_session_entries(bob: User) -> None:
    client = login()
    revoke_session(session_hash(token_payload(session_token(client))["sid"]))
    revoke_user(bob)
    old = timezone.now() - timedelta(days=31)
    StateEntry.objects.filter(key__startswith="s:").update(updated=old)
    fresh = login()
    revoke_session(session_hash(token_payload(session_token(fresh))["sid"]))
    call_command("clearsessions")
    remaining = set(StateEntry.objects.values_list("key", flat=True))
    assert sum(key.startswith("s:") for key in remaining) == 1  # the fresh one
    assert f"u:{bob.pk}:r" in remaining  # user and global epochs are never pruned


@pytest.mark.strategies("jwt")  # the db strategy reads its session from the cache anyway
def test_state_memo_trades_bounded_staleness_for_zero_round_trips(
    bob: User, cache_calls: list[str]
) -> None:
    with jwtsession_settings(STATE_MEMO_SECONDS=60):
        client = login()
        whoami(client)
        cache_calls.clear()
        assert whoami(client)["authenticated"] is True
        assert cache_calls == []  # answered from the memo
        revoke_user(bob)  # a write in this process clears the memo
        assert whoami(client) == {"authenticated": False}


def test_cycle_key_of_a_signed_in_session_keeps_its_start(bob: User, bob_client: Client) -> None:
    """cycle_key() (and so update_session_auth_hash()) must not extend MAX_LIFETIME."""
    old_token = session_token(bob_client)
    before = token_payload(old_token)
    response = bob_client.get("/cycle/")
    after = token_payload(response.cookies["sessionid"].value)
    assert after["sid"] != before["sid"]
    assert after["sat"] == before["sat"]
    replay = Client()
    replay.cookies["sessionid"] = old_token  # the old id was revoked by the cycle
    assert whoami(replay) == {"authenticated": False}
    assert whoami(bob_client)["authenticated"] is True


# -- a forced refresh ------------------------------------------------------------------------------


def test_refresh_claims_rebuilds_now_and_ends_a_gone_user(bob: User, bob_client: Client) -> None:
    from django_jwtsession.backends.session import SessionStore

    reasons: list[str] = []

    def receiver(sender: Any, reason: str, **kwargs: Any) -> None:
        reasons.append(reason)

    claims_refreshed.connect(receiver)
    try:
        User.objects.filter(pk=bob.pk).update(is_staff=True)  # no signal: no mark
        store = SessionStore(session_token(bob_client))
        assert store.claims is not None
        assert store.claims.is_staff is False
        assert store.refresh_claims() is True
        assert store.claims.is_staff is True
        assert reasons == ["forced"]
        assert SessionStore().refresh_claims() is False  # nobody signed in
        User.objects.filter(pk=bob.pk).update(is_active=False)
        assert store.refresh_claims() is False
        assert store.claims is None
        assert store.is_empty()  # the middleware deletes the cookie
    finally:
        claims_refreshed.disconnect(receiver)


OLD_SECRET = "old-secret-key-5e1a9c3f7b2d8e4a6c0f1b3d5e7a9c2f"
NEW_SECRET = "new-secret-key-9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b"


def test_session_hash_upgrade_after_key_rotation_cycles_the_session(bob: User) -> None:
    """As Django's get_user() does: the upgraded session gets a new id, the old one is over."""
    client = Client()
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert client.login(username="bob", password=PASSWORD)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        resign_session(client, cat=int(time.time()) - get_settings().claims_ttl - 1)
        before = session_token(client)
        assert whoami(client)["username"] == "bob"  # refreshed, hash upgraded, re-issued
        assert client_session_id(client) != token_session_id(before)
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = before
        assert whoami(replay) == {"authenticated": False}
        assert whoami(client)["username"] == "bob"
