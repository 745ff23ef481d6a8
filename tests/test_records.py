"""Session records: written at login, refresh and re-issue only; revoked with the session."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from django_jwtsession.backends.session import SessionStore
from django_jwtsession.conf import get_settings
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import USER_AGENT_MAX_LENGTH, SessionRecord
from django_jwtsession.records import as_datetime
from django_jwtsession.revocation import mark_for_refresh, revoke_all, revoke_user
from tests.helpers import (
    PASSWORD,
    client_session_id,
    jwtsession_settings,
    make_user,
    session_token,
    token_payload,
)

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def sign_in(username: str = "bob", **meta: str) -> Client:
    """A real login through the middleware (so the request's IP and user agent are known)."""
    client = Client(REMOTE_ADDR=meta.pop("REMOTE_ADDR", "192.0.2.10"), HTTP_USER_AGENT=BROWSER)
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD}, **meta)
    assert response.status_code == 302, response.content[:300]
    return client


def record_of(client: Client) -> SessionRecord:
    return SessionRecord.objects.get(session_hash=session_hash(client_session_id(client)))


def test_login_writes_one_record_without_the_session_id(bob: User, strategy: str) -> None:
    before = timezone.now().replace(microsecond=0)
    client = sign_in()
    record = record_of(client)
    payload = token_payload(session_token(client))
    assert record.user_id == bob.pk
    assert (record.strategy, record.ip, record.user_agent) == (strategy, "192.0.2.10", BROWSER)
    assert record.created >= before
    assert record.last_seen == record.created
    assert record.expires == as_datetime(payload["exp"])  # aware, or naive with USE_TZ = False
    assert record.revoked_at is None
    stored = [str(value) for value in SessionRecord.objects.values().get().values()]
    assert not any(payload["sid"] in value for value in stored)
    assert SessionRecord.objects.count() == 1


def test_steady_state_requests_write_nothing(bob: User, django_assert_num_queries: Any) -> None:
    client = sign_in()
    seen = record_of(client).last_seen
    with django_assert_num_queries(0):
        for _ in range(3):
            assert client.get("/whoami/").json()["authenticated"] is True
    assert record_of(client).last_seen == seen


def test_a_refresh_updates_last_seen_and_keeps_created(bob: User) -> None:
    client = sign_in()
    first = record_of(client)
    time.sleep(0.01)
    mark_for_refresh(bob)
    client.get("/whoami/", REMOTE_ADDR="198.51.100.4")
    again = record_of(client)
    assert again.pk == first.pk
    assert again.created == first.created
    assert again.last_seen > first.last_seen
    assert again.ip == "198.51.100.4"
    assert SessionRecord.objects.count() == 1


def test_anonymous_sessions_have_no_record_in_jwt_and_an_anonymous_one_in_db(
    db: None, strategy: str
) -> None:
    client = Client()
    client.get("/set/?key=cart&value=1")
    assert session_token(client)
    if strategy == "jwt":
        assert not SessionRecord.objects.exists()
    else:
        assert SessionRecord.objects.get().user is None


def test_logout_revokes_the_record(bob: User) -> None:
    client = sign_in()
    record = record_of(client)
    client.post("/accounts/logout/")
    record.refresh_from_db()
    assert record.revoked_at is not None


def test_another_login_revokes_the_old_record_and_writes_a_new_one(bob: User) -> None:
    carol = make_user("carol")
    client = sign_in()
    old = record_of(client)
    client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    new = record_of(client)
    old.refresh_from_db()
    assert (new.user_id, old.user_id) == (carol.pk, bob.pk)
    assert old.revoked_at is not None
    assert new.revoked_at is None


def test_revoke_user_keeps_the_current_session_only(bob: User) -> None:
    make_user("carol")
    here, there, hers = sign_in(), sign_in(), sign_in("carol")
    revoke_user(bob, keep=SessionStore(session_token(here)))  # as keep=request.session
    assert record_of(here).revoked_at is None
    assert record_of(there).revoked_at is not None
    assert record_of(hers).revoked_at is None
    revoke_all()
    assert not SessionRecord.objects.filter(revoked_at=None).exists()


def test_trusted_proxy_header_and_bad_input(bob: User) -> None:
    with jwtsession_settings(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR"):
        client = sign_in(HTTP_X_FORWARDED_FOR="203.0.113.1, 2001:db8::1")
        assert record_of(client).ip == "2001:db8::1"
        client = sign_in(HTTP_X_FORWARDED_FOR="not-an-address")
        assert record_of(client).ip is None
        client = sign_in()  # header missing: unknown, not REMOTE_ADDR
        assert record_of(client).ip is None
    long_agent = Client(HTTP_USER_AGENT="x" * 5000)
    assert long_agent.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert len(record_of(long_agent).user_agent) == USER_AGENT_MAX_LENGTH


def test_clearsessions_ends_expired_records_and_keeps_them_for_the_history(
    bob: User, strategy: str
) -> None:
    live, recent, gone = sign_in(), sign_in(), sign_in()
    # A jwt token may slide up to UPDATE_AGE past its record: its record is kept live that
    # long. A db session's record is the session: it ends once expired, with no slack.
    SessionRecord.objects.filter(pk=record_of(recent).pk).update(
        expires=timezone.now() - timedelta(seconds=get_settings().update_age - 60)
    )
    expired_at = timezone.now() - timedelta(seconds=get_settings().update_age + 1)
    SessionRecord.objects.filter(pk=record_of(gone).pk).update(expires=expired_at)
    call_command("clearsessions", stdout=io.StringIO())
    assert SessionRecord.objects.count() == 3  # HISTORY_RETENTION: 30 days by default
    ended = {record_of(gone)} if strategy == "jwt" else {record_of(gone), record_of(recent)}
    assert set(SessionRecord.objects.exclude(revoked_at=None)) == ended
    assert {record.end_reason for record in ended} == {"lifetime"}
    assert record_of(gone).revoked_at == record_of(gone).expires  # when it ended
    assert record_of(live).revoked_at is None


def test_clearsessions_deletes_ended_records_past_the_retention(bob: User, configure: Any) -> None:
    kept, old, expired = sign_in(), sign_in(), sign_in()
    revoke_user(bob)
    long_ago = timezone.now() - timedelta(days=31)
    SessionRecord.objects.filter(pk=record_of(old).pk).update(revoked_at=long_ago)
    SessionRecord.objects.filter(pk=record_of(expired).pk).update(revoked_at=None, expires=long_ago)
    call_command("clearsessions", stdout=io.StringIO())
    assert set(SessionRecord.objects.all()) == {record_of(kept)}  # ended 30 days ago at most
    configure(HISTORY_RETENTION=0)  # no history: ended records go at the next clearsessions
    call_command("clearsessions", stdout=io.StringIO())
    assert not SessionRecord.objects.exists()


def test_clearsessions_deletes_expired_anonymous_db_sessions(db: None, strategy: str) -> None:
    client = Client()
    client.get("/set/?key=cart&value=1")
    SessionRecord.objects.update(expires=timezone.now() - timedelta(days=1))
    call_command("clearsessions", stdout=io.StringIO())
    assert not SessionRecord.objects.exists()


def test_deleting_the_user_deletes_the_records(bob: User) -> None:
    sign_in()
    bob.delete()
    assert not SessionRecord.objects.exists()


def test_unstorable_client_details_are_cleaned_not_fatal(bob: User) -> None:
    """PostgreSQL's inet takes no IPv6 zone, and text takes no NUL: neither may fail a login."""
    client = Client(REMOTE_ADDR="fe80::1%eth0", HTTP_USER_AGENT="Agent\x00/1.0")
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    record = record_of(client)
    assert (record.ip, record.user_agent) == ("fe80::1", "Agent/1.0")


def test_a_user_deleted_while_the_record_is_due_is_no_error(bob: User) -> None:
    client = sign_in()
    mark_for_refresh(bob)  # the next request rebuilds the claims and writes the record
    response = client.get("/delete-me/")
    assert response.status_code == 200
    assert client.get("/whoami/").json() == {"authenticated": False}


def test_set_expiry_moves_the_records_expiry(bob: User) -> None:
    client = sign_in()
    before = record_of(client).expires
    client.get("/expiry/?seconds=2500000")
    assert record_of(client).expires > before + timedelta(days=10)
