"""The public signals: claims_refreshed (with its reason), user_marked, session_revoked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.dispatch import Signal
from django.test import Client, TestCase

from django_jwtsession.conf import get_settings
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import StateEntry
from django_jwtsession.revocation import (
    mark_for_refresh,
    revoke_all,
    revoke_session,
    revoke_sessions,
    revoke_user,
)
from django_jwtsession.signals import claims_refreshed, session_revoked, user_marked
from tests.helpers import PASSWORD, resign_session, session_token, token_payload

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")


@pytest.fixture
def received() -> Iterator[dict[Signal, list[dict[str, Any]]]]:
    log: dict[Signal, list[dict[str, Any]]] = {}
    receivers = {}
    for signal in (claims_refreshed, user_marked, session_revoked):

        def receiver(signal: Signal = signal, **kwargs: Any) -> None:
            log.setdefault(signal, []).append(kwargs)

        receivers[signal] = receiver
        signal.connect(receiver)
    yield log
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


def test_claims_refreshed_on_login_with_reason(bob: User, received: dict[Signal, Any]) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    [event] = received[claims_refreshed]
    assert (event["reason"], event["user"]) == ("login", bob)


def test_claims_refreshed_after_ttl_and_after_mark(
    bob: User, bob_client: Client, received: dict[Signal, Any]
) -> None:
    received.clear()
    resign_session(bob_client, cat=int(time.time()) - get_settings().claims_ttl - 1)
    bob_client.get("/whoami/")
    assert [event["reason"] for event in received[claims_refreshed]] == ["ttl"]
    received.clear()
    mark_for_refresh(bob)
    bob_client.get("/whoami/")
    assert [event["reason"] for event in received[claims_refreshed]] == ["mark"]


def test_no_refresh_signal_on_the_hot_path(bob_client: Client, received: dict[Signal, Any]) -> None:
    received.clear()
    bob_client.get("/whoami/")
    assert claims_refreshed not in received


def test_user_marked_and_session_revoked_are_sent_on_commit(
    bob: User, bob_client: Client, received: dict[Signal, Any]
) -> None:
    public_id = session_hash(token_payload(session_token(bob_client))["sid"])
    received.clear()
    with TestCase.captureOnCommitCallbacks() as callbacks:
        mark_for_refresh(bob)
        revoke_session(public_id)
        revoke_user(bob)
        revoke_all()
        revoke_sessions(["ab" * 32])
    assert received == {}  # nothing before the commit
    for callback in callbacks:
        callback()
    assert received[user_marked] == [{"sender": StateEntry, "user_ids": [str(bob.pk)]}]
    revoked = [(e["scope"], e["user_ids"], e["session_ids"]) for e in received[session_revoked]]
    assert revoked == [
        ("session", [], [public_id]),  # the public id, as the API and the admin show it
        ("user", [str(bob.pk)], []),
        ("all", [], []),
        ("session", [], ["ab" * 32]),
    ]
    assert all(
        set(e) == {"sender", "scope", "user_ids", "session_ids"} for e in received[session_revoked]
    )


def test_marking_or_revoking_nobody_announces_nothing(
    db: None, received: dict[Signal, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from django.contrib.auth.models import Group

    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Group.objects.create(name="new-and-empty")  # its (no) members are "marked"
        mark_for_refresh(User.objects.none())
        revoke_user([])
    assert received == {}
