"""Session history: every way a session ends keeps its record with when, why and by whom, and
sends ``session_ended`` once, on commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from django_jwtsession import (
    EndReason,
    history as history_module,
    revoke_all,
    revoke_session,
    revoke_sessions,
    revoke_user,
)
from django_jwtsession.history import recent_ended
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord
from django_jwtsession.revocation import mark_for_refresh
from django_jwtsession.signals import session_ended
from tests.helpers import PASSWORD, client_session_id, make_user

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]


def sign_in(username: str = "bob") -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def public_id(client: Client) -> str:
    return session_hash(client_session_id(client))


def record_of(client: Client) -> SessionRecord:
    return SessionRecord.objects.get(session_hash=public_id(client))


def ended(session: Client | str) -> tuple[str, Any]:
    """``(end_reason, ended_by_id)`` of a session's record (it must have ended), by the client
    while it still holds the cookie, or by public id."""
    hashed = session if isinstance(session, str) else public_id(session)
    record = SessionRecord.objects.get(session_hash=hashed)
    assert record.revoked_at is not None
    return record.end_reason, record.ended_by_id


def signed_in(client: Client) -> bool:
    return bool(client.get("/whoami/").json()["authenticated"])


@pytest.fixture
def announced() -> Iterator[list[dict[str, Any]]]:
    """What ``session_ended`` sends, as it is sent."""
    log: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        log.append(kwargs)

    session_ended.connect(receiver)
    yield log
    session_ended.disconnect(receiver)


# -- every way a session ends ----------------------------------------------------------------------


def test_logout_is_recorded_as_ended_by_the_user(bob: User) -> None:
    client = sign_in()
    hashed = public_id(client)
    client.post("/accounts/logout/")
    assert ended(hashed) == ("logout", bob.pk)


def test_revocations_record_the_reason_and_who_gave_them(bob: User) -> None:
    alice = make_user("alice", is_staff=True)
    first, second, third, fourth = sign_in(), sign_in(), sign_in(), sign_in()
    assert revoke_session(public_id(first)) is True  # the old signature: "revoked", nobody
    assert revoke_session(public_id(second), reason=EndReason.REVOKED_BY_USER, by=bob)
    assert revoke_sessions([public_id(third)], reason="revoked_by_admin", by=alice.pk) == 1
    revoke_user(bob, keep=None, reason="my_own_reason", by=str(alice.pk))
    assert ended(first) == ("revoked", None)
    assert ended(second) == ("revoked_by_user", bob.pk)
    assert ended(third) == ("revoked_by_admin", alice.pk)
    assert ended(fourth) == ("my_own_reason", alice.pk)
    assert not any(signed_in(client) for client in (first, second, third, fourth))


def test_revoke_all_records_every_session_in_batches(
    bob: User,
    monkeypatch: pytest.MonkeyPatch,
    announced: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_user("carol")
    monkeypatch.setattr(history_module, "BATCH", 2)
    clients = [sign_in(), sign_in(), sign_in("carol"), sign_in(), sign_in("carol")]
    with django_capture_on_commit_callbacks(execute=True):
        revoke_all(reason="key_rotation")
    assert {ended(client) for client in clients} == {("key_rotation", None)}
    assert sorted(event["session_id"] for event in announced) == sorted(map(public_id, clients))


def test_bad_reasons_are_refused_before_anything_is_written(bob: User) -> None:
    client = sign_in()
    for reason in ("", "Logout", "x" * 33, "not allowed!", 7):
        with pytest.raises(ValueError, match="Not an end reason"):
            revoke_session(public_id(client), reason=reason)  # type: ignore[arg-type]
    assert signed_in(client)
    assert record_of(client).revoked_at is None


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(bob: User) -> None:
    here, elsewhere = sign_in(), sign_in()
    old = record_of(here)
    assert here.post("/password/", {"password": "a-new-password-123"}).status_code == 200
    assert ended(elsewhere) == ("password_change", None)
    old.refresh_from_db()
    assert old.end_reason == "password_change"  # its old id; it goes on under a new one
    assert signed_in(here)
    assert record_of(here).revoked_at is None


def test_deactivating_a_user_ends_their_sessions_as_deactivated(bob: User) -> None:
    client = sign_in()
    bob.is_active = False
    bob.save()
    assert ended(client) == ("deactivated", None)
    assert not signed_in(client)


@pytest.mark.parametrize(
    ("change", "reason"),
    [("is_active", "deactivated"), ("password", "password_change")],
)
def test_a_session_ended_by_its_refresh_is_recorded(bob: User, change: str, reason: str) -> None:
    """A change that sent no signal (``QuerySet.update()``): the next refresh ends it."""
    client = sign_in()
    hashed = public_id(client)
    value = False if change == "is_active" else "md5$changed$behind-our-back"
    User.objects.filter(pk=bob.pk).update(**{change: value})
    mark_for_refresh(bob)
    assert not signed_in(client)
    assert ended(hashed) == (reason, None)


def test_a_secret_key_rotated_without_fallback_ends_sessions_as_key_rotation(
    bob: User, settings: Any, configure: Any
) -> None:
    configure(SECRET_KEYS=["the-sessions-own-secret-so-that-tokens-still-verify-0123"])
    client = sign_in()
    hashed = public_id(client)
    settings.SECRET_KEY = "another-secret-key-that-verifies-no-old-hash-0123456789"
    assert not signed_in(client)
    assert ended(hashed) == ("key_rotation", None)


def test_cycle_key_moves_the_session_to_a_new_id(
    bob: User, announced: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in()
    old = record_of(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.get("/cycle/")
    old.refresh_from_db()
    assert old.end_reason == "cycled"  # the record of the old id; the session goes on
    assert record_of(client).revoked_at is None
    assert announced == []  # no session ended
    assert list(recent_ended(bob.pk)) == []


def test_another_user_signing_in_logs_the_first_one_out(bob: User) -> None:
    make_user("carol")
    client = sign_in()
    old = record_of(client)
    client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    old.refresh_from_db()
    assert old.end_reason == "logout"


# -- the signal ------------------------------------------------------------------------------------


def test_session_ended_is_sent_on_commit_once_per_session(
    bob: User, announced: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    first, second = sign_in(), sign_in()
    with django_capture_on_commit_callbacks(execute=True):
        revoke_user(bob, reason="revoked_by_user", by=bob)
        assert announced == []  # nothing before the commit
        revoke_user(bob, reason="revoked_by_user", by=bob)  # nothing left to end
    assert sorted(announced, key=lambda event: event["session_id"]) == sorted(
        (
            {
                "signal": session_ended,
                "sender": SessionRecord,
                "session_id": public_id(client),
                "user_id": str(bob.pk),
                "reason": "revoked_by_user",
                "by": str(bob.pk),
            }
            for client in (first, second)
        ),
        key=lambda event: event["session_id"],
    )


def test_nothing_is_announced_for_a_revocation_rolled_back(
    bob: User, announced: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in()

    def revoke_then_fail() -> None:
        with transaction.atomic():
            revoke_session(public_id(client))
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        revoke_then_fail()
    assert announced == []
    assert record_of(client).revoked_at is None
    assert signed_in(client)


# -- recent ended sessions -------------------------------------------------------------------------


def test_recent_ended_lists_a_users_ended_sessions_latest_first(bob: User) -> None:
    make_user("carol")
    older, newer, live, hers = sign_in(), sign_in(), sign_in(), sign_in("carol")
    newer_id = public_id(newer)
    revoke_session(public_id(older), reason="revoked_by_user")
    newer.post("/accounts/logout/")
    revoke_user(User.objects.get(username="carol"))
    listed = list(recent_ended(bob.pk))
    assert [record.session_hash for record in listed] == [newer_id, public_id(older)]
    assert [record.end_reason for record in listed] == ["logout", "revoked_by_user"]
    assert public_id(live) not in {record.session_hash for record in listed}
    assert public_id(hers) not in {record.session_hash for record in listed}


# -- the admin and the REST API --------------------------------------------------------------------

CHANGELIST = "/admin/django_jwtsession/sessionrecord/"


def test_the_admin_shows_and_filters_why_sessions_ended(bob: User) -> None:
    root = make_user("root", is_staff=True, is_superuser=True)
    staff = Client()
    assert staff.login(username="root", password=PASSWORD)
    logged_out, revoked, live = sign_in(), sign_in(), sign_in()
    logged_out_id, revoked_id = public_id(logged_out), public_id(revoked)
    logged_out.post("/accounts/logout/")
    response = staff.post(
        CHANGELIST,
        {"action": "revoke_sessions", "_selected_action": [record_of(revoked).pk]},
    )
    assert response.status_code == 302
    assert ended(revoked_id) == ("revoked_by_admin", root.pk)

    def listed(**query: str) -> set[str]:
        page = staff.get(CHANGELIST, query)
        assert page.status_code == 200
        return {record.session_hash for record in page.context["cl"].result_list}

    assert listed(status="ended") == {logged_out_id, revoked_id}
    assert public_id(live) in listed(status="active")
    assert listed(reason="logout") == {logged_out_id}
    assert listed(reason="revoked_by_admin") == {revoked_id}
    revoke_session(public_id(live), reason="fraud_suspected")
    assert listed(reason="fraud_suspected") == {public_id(live)}
    page = staff.get(CHANGELIST, {"status": "ended"}).content.decode()
    assert "Ended: logged out" in page
    assert "Ended: revoked by an administrator" in page
    record = SessionRecord.objects.get(session_hash=revoked_id)
    detail = staff.get(f"{CHANGELIST}{record.pk}/change/").content.decode()
    assert "revoked by an administrator" in detail
    assert "root" in detail  # ended by


def test_the_rest_list_adds_the_recently_ended_sessions_when_asked(bob: User) -> None:
    here, there, gone = sign_in(), sign_in(), sign_in()
    gone_id = public_id(gone)
    gone.post("/accounts/logout/")
    response = here.delete(f"/api/sessions/{public_id(there)}/")
    assert response.status_code == 204
    assert ended(public_id(there)) == ("revoked_by_user", bob.pk)
    live = here.get("/api/sessions/").json()
    assert [row["id"] for row in live] == [public_id(here)]
    assert (live[0]["ended_at"], live[0]["end_reason"]) == (None, None)
    rows = here.get("/api/sessions/", {"ended": "1"}).json()
    assert [(row["id"], row["end_reason"]) for row in rows] == [
        (public_id(here), None),
        (public_id(there), "revoked_by_user"),
        (gone_id, "logout"),
    ]
    assert all(row["ended_at"].endswith("Z") for row in rows[1:])


def test_ended_sessions_kept_in_the_history_cost_a_live_one_nothing(
    bob: Any, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    for _ in range(3):  # ended sessions of the same user, kept with their reasons
        revoke_session(public_id(sign_in()), reason=EndReason.REVOKED_BY_USER)
    live = sign_in()
    assert signed_in(live)
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert signed_in(live)
    assert cache_calls == ["get_many"]  # the one round trip
    assert SessionRecord.objects.filter(user=bob).exclude(revoked_at=None).count() == 3
