"""The pushed mirror in one process, on a redis-server of the test's own.

Another process's write is played here by a second cache alias on the same Redis: it does
not go through this package, so only Redis's invalidation push can tell the mirror.
``listener.sync()`` waits until every invalidation Redis sent before it has arrived.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db.models import F
from django.test import Client

from django_jwtsession import ban_user, listener, metrics
from django_jwtsession.keyspace import epoch_key, session_hash
from django_jwtsession.mirror import DOWN, ROUND_TRIP, SERVING, Mirror
from django_jwtsession.models import StateEntry
from django_jwtsession.revocation import revoke_session
from tests.helpers import (
    PASSWORD,
    Configure,
    disconnect,
    make_user,
    redis_cache,
    session_token,
    state_cache_key,
    token_session_id,
    use_cache,
    wait_until,
)
from tests.processes import RedisServer


@pytest.fixture
def mirrored(
    db: None, settings: Any, configure: Configure, redis_server: RedisServer
) -> Iterator[RedisServer]:
    """The default cache is ``redis_server`` with the mirror on (its default); a second alias,
    ``other``, writes to the same Redis as another process would."""
    use_cache(settings, redis_server.url)
    settings.CACHES = {**settings.CACHES, "other": redis_cache(redis_server.url)}
    configure(MIRROR=True)
    metrics.reset()
    try:
        yield redis_server
    finally:
        listener.stop(wait=1)
        disconnect(redis_server.url)


def _user(username: str) -> Any:
    return get_user_model()._default_manager.get(username=username)


def whoami(client: Client) -> dict[str, Any]:
    response = client.get("/whoami/")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def signed_in_mirrored(username: str = "bob") -> Client:
    """A signed-in client whose session's entries the mirror holds."""
    make_user(username)
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    assert listener.wait_serving(5)
    whoami(client)  # refills the cache from the database: Redis pushes those writes
    assert listener.sync()
    assert whoami(client)["authenticated"]  # a round trip whose answers the mirror keeps
    return client


def foreign_revocation(user: Any) -> None:
    """Revoke ``user``'s sessions as another process would: database, then its cache write
    (through another alias: nothing evicts this process's mirror but Redis's push)."""
    key = epoch_key(user.pk)
    StateEntry.objects.update_or_create(key=key, defaults={"version": 0})
    StateEntry.objects.filter(key=key).update(version=F("version") + 1)
    version = StateEntry.objects.get(key=key).version
    caches["other"].set(state_cache_key(key), version, None)


@pytest.mark.usefixtures("strategy")
def test_the_steady_state_is_answered_in_process(
    mirrored: RedisServer, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    client = signed_in_mirrored()
    hits = metrics._buffer["mirror.hits"]
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert whoami(client)["username"] == "bob"
    assert cache_calls == []  # no round trip: the session's state (and db entry) in-process
    assert metrics._buffer["mirror.hits"] == hits + 1


@pytest.mark.usefixtures("strategy")
def test_idle_timeout_keeps_the_steady_state_in_process(
    mirrored: RedisServer,
    configure: Configure,
    django_assert_num_queries: Any,
    cache_calls: list[str],
) -> None:
    configure(IDLE_TIMEOUT=600)
    client = signed_in_mirrored()
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert whoami(client)["username"] == "bob"
    assert cache_calls == []  # the idle clock is read from the session itself


@pytest.mark.usefixtures("strategy")
@pytest.mark.parametrize("policy", ["evict_oldest", "deny"])
def test_session_limits_and_bans_keep_the_steady_state_in_process(
    mirrored: RedisServer,
    configure: Configure,
    django_assert_num_queries: Any,
    cache_calls: list[str],
    policy: str,
) -> None:
    """Limits and bans act at sign-in and through revocation: the steady state is unchanged."""
    configure(SESSION_LIMIT=2, SESSION_LIMIT_POLICY=policy)
    client = signed_in_mirrored()
    ban_user(make_user("dave"), timedelta(hours=1))  # another user's ban
    assert listener.sync()
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert whoami(client)["username"] == "bob"
    assert cache_calls == []


@pytest.mark.usefixtures("strategy")
def test_an_impersonated_session_keeps_the_steady_state_in_process(
    mirrored: RedisServer, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    """Who acts is read from the session itself: an impersonation costs what any session does."""
    client = signed_in_mirrored("root")
    root = _user("root")
    type(root)._default_manager.filter(pk=root.pk).update(is_staff=True, is_superuser=True)
    bob = make_user("bob")
    assert client.login(username="root", password=PASSWORD)  # claims with superuser status
    assert client.post(f"/impersonation/{bob.pk}/start/").status_code == 302
    whoami(client)  # refills the cache: Redis pushes those writes
    assert listener.sync()
    assert whoami(client)["impersonator"] == str(root.pk)
    cache_calls.clear()
    with django_assert_num_queries(0):
        answer = whoami(client)
    assert (answer["username"], answer["impersonator"]) == ("bob", str(root.pk))
    assert cache_calls == []


@pytest.mark.usefixtures("strategy")
def test_another_processs_revocation_is_honoured_once_its_invalidation_arrived(
    mirrored: RedisServer,
) -> None:
    client = signed_in_mirrored()
    foreign_revocation(_user("bob"))
    assert listener.sync()  # Redis's invalidation has reached the mirror
    assert whoami(client) == {"authenticated": False}
    assert metrics._buffer["mirror.invalidations"] >= 1


@pytest.mark.usefixtures("strategy")
def test_this_processs_own_revocation_is_seen_at_once(
    mirrored: RedisServer, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in_mirrored()
    with django_capture_on_commit_callbacks(execute=True):
        revoke_session(session_hash(token_session_id(session_token(client))))
    assert whoami(client) == {"authenticated": False}  # no sync: evicted by the write itself


def test_a_flush_drops_the_whole_mirror(mirrored: RedisServer, cache_calls: list[str]) -> None:
    client = signed_in_mirrored()
    caches["other"].clear()  # FLUSHDB: a null invalidation
    assert listener.sync()
    assert listener.status()["entries"] == 0
    cache_calls.clear()
    assert whoami(client)["authenticated"]  # the database refills Redis: the truth is there
    assert cache_calls[0] == "get_many"
    assert metrics._buffer["mirror.flushes"] == 1


def test_the_listener_reconnects_after_its_connection_is_killed(mirrored: RedisServer) -> None:
    client = signed_in_mirrored()
    admin = redis.Redis.from_url(mirrored.url)
    assert admin.client_kill_filter(_type="pubsub") == 1  # the listener's connection
    assert wait_until(lambda: metrics._buffer["mirror.reconnects"] == 1, 5)
    assert listener.wait_serving(5)
    assert listener.status()["entries"] == 0  # a new connection starts empty
    whoami(client)
    assert listener.sync()
    whoami(client)
    foreign_revocation(_user("bob"))  # tracking is on again: the push still arrives
    assert listener.sync()
    assert whoami(client) == {"authenticated": False}
    admin.close()


@pytest.mark.parametrize("policy", ["database", "refuse"])
def test_while_redis_is_paused_the_outage_policy_answers_without_asking_redis(
    mirrored: RedisServer, configure: Configure, cache_calls: list[str], policy: str
) -> None:
    configure(ON_CACHE_OUTAGE=policy, MIRROR_HEALTH_SECONDS=0.3)
    client = signed_in_mirrored()
    mirrored.pause()
    try:
        assert wait_until(lambda: listener.status()["mode"] == DOWN, 5)
        cache_calls.clear()
        assert whoami(client)["authenticated"] is (policy == "database")
        assert cache_calls == []  # Redis was not asked: nothing waited on it
    finally:
        mirrored.resume()
    assert listener.wait_serving(5)
    assert whoami(client)["authenticated"]


def test_other_caches_keep_the_round_trip(
    db: None, settings: Any, configure: Configure, tmp_path: Path
) -> None:
    file_cache = "django.core.cache.backends.filebased.FileBasedCache"
    settings.CACHES = {"default": {"BACKEND": file_cache, "LOCATION": str(tmp_path)}}
    configure(MIRROR=True)  # no push from a file cache, so no mirror
    make_user("bob")
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    assert whoami(client)["authenticated"]
    assert listener.status() | {"pid": 0} == {
        "pid": 0,
        "running": False,
        "mode": ROUND_TRIP,
        "entries": 0,
    }


# -- the mirror's own rules ---------------------------------------------------------------------


def serving_mirror(**limits: Any) -> Mirror:
    mirror = Mirror()
    mirror.configure(**{"max_entries": 10, "ttl": 60.0, "health": 60.0, **limits})
    mirror.ready = True
    mirror.heard = time.monotonic()
    return mirror


def test_an_invalidation_during_a_round_trip_wins() -> None:
    mirror = serving_mirror()
    assert mirror.mode() == SERVING
    ticket = mirror.ticket()  # a reader starts its round trip...
    mirror.invalidate(["k"])  # ...the key changes before its answer is inserted
    assert mirror.insert({"k": "old", "j": 1}, ticket) == 1
    assert mirror.lookup(["k", "j"]) == ({"j": 1}, ["k"])
    later = mirror.ticket()
    assert mirror.insert({"k": "new"}, later) == 1
    assert mirror.lookup(["k"]) == ({"k": "new"}, [])


def test_a_clear_refuses_every_earlier_round_trip() -> None:
    mirror = serving_mirror()
    ticket = mirror.ticket()
    mirror.clear()
    assert mirror.insert({"k": 1}, ticket) == 0
    assert len(mirror) == 0


def test_entries_are_bounded_least_recently_used_first_and_expire() -> None:
    mirror = serving_mirror(max_entries=2)
    mirror.insert({"a": 1, "b": 2}, mirror.ticket())
    assert mirror.lookup(["a"]) == ({"a": 1}, [])  # "a" used: "b" is the oldest now
    mirror.insert({"c": 3}, mirror.ticket())
    assert mirror.lookup(["a", "b", "c"]) == ({"a": 1, "c": 3}, ["b"])
    mirror.insert({"d": 4}, mirror.ticket(), ttl=0)  # gone as soon as inserted
    assert mirror.lookup(["d"]) == ({}, ["d"])


def test_a_mirror_not_heard_from_stops_serving() -> None:
    mirror = serving_mirror(health=0.5)
    mirror.heard -= 1  # the listener's PONG is overdue
    assert mirror.mode() == DOWN
    mirror.ready, mirror.lost = False, True  # it noticed: reconnecting
    assert mirror.mode() == DOWN
    assert mirror.insert({"k": 1}, mirror.ticket()) == 0


def test_every_entry_the_mirror_may_hold_is_tracked() -> None:
    """Each cache key a state check, a stored session (db or spilled, signed in or not) or
    shared claims are read under starts with a prefix the listener tracks: a write to any
    of them reaches every mirror."""
    from django_jwtsession import keyspace
    from django_jwtsession.redis_link import TRACKED

    _, names = keyspace.state_entries("7", "0" * 32)
    for kind in keyspace.STORED_KINDS:
        names += [keyspace.stored_session_key("a" * 64, kind, user) for user in ("7", None)]
    names.append(keyspace.claims_key("7", 3))
    untracked = [
        name for name in names if not name.removeprefix(keyspace.CACHE_PREFIX).startswith(TRACKED)
    ]
    assert untracked == []
