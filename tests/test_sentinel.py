"""Redis Sentinel: the primary killed mid-traffic, against real processes (tests/sentinel.py).

A primary, a replica and three sentinels on loopback; the cache is django-redis finding the
primary through the sentinels. Requests run in a loop while the primary is killed (SIGKILL)
and the sentinels promote the replica: every response is checked, a session revoked before
or during the failover is never accepted, no request fails, and afterwards the state check is
answered by the new primary again.

The requests are served by this process (the test client), or by a WSGI worker process
while this one revokes (PostgreSQL only: the worker shares the test database).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.connection import SSLConnection

from django_jwtsession import metrics, replayer, revocation as revocation_module
from django_jwtsession.contrib.sentinel import (
    FENCE_KEY,
    FencedConnection,
    FencedSSLConnection,
    SentinelConnectionPool,
)
from django_jwtsession.keyspace import CACHE_PREFIX, revoked_key, session_hash, session_key
from django_jwtsession.models import StateEntry
from django_jwtsession.revocation import revoke_session, revoke_user
from tests.helpers import (
    PASSWORD,
    Configure,
    make_user,
    redis_cache,
    session_token,
    state_cache_key,
    token_session_id,
    token_user_id,
)
from tests.processes import free_port
from tests.sentinel import (
    FAILOVER_DEADLINE,
    SentinelDeployment,
    Worker,
    client,
    sentinel_cache,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("strategy")]

ROOT = Path(__file__).resolve().parent.parent
Reader = Callable[[str], "str | None"]


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[SentinelDeployment]:
    started = SentinelDeployment(tmp_path)
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
def cache_settings(deployment: SentinelDeployment) -> dict[str, Any]:
    return sentinel_cache(deployment)


def disconnect_pools() -> None:
    """Drop django-redis's process-wide connection pools (their servers may be gone)."""
    from django_redis.pool import ConnectionFactory

    for pool in ConnectionFactory._pools.values():
        pool.disconnect()
    ConnectionFactory._pools.clear()


@pytest.fixture(autouse=True)
def _own_pools() -> Iterator[None]:
    yield
    disconnect_pools()


@pytest.fixture
def sentinel_default_cache(settings: Any, cache_settings: dict[str, Any]) -> None:
    settings.CACHES = {**settings.CACHES, "default": cache_settings}
    caches["default"].clear()


def in_process(token: str) -> str | None:
    """The username ``/whoami/`` answers in this process for ``token``; None when anonymous."""
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = token
    response = client.get("/whoami/")
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    return body["username"] if body["authenticated"] else None


def postgres_url() -> str:
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{port}/{db['NAME']}"


@pytest.fixture(params=["this process", "a worker process"])
def reader(
    request: pytest.FixtureRequest,
    cache_settings: dict[str, Any],
    strategy: str,
    tmp_path: Path,
) -> Iterator[Reader]:
    """Who serves the requests: this process, or a WSGI worker (this one revokes)."""
    if request.param == "this process":
        yield in_process
        return
    if connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_DATABASE_URL"):
            pytest.fail("a worker process shares the test database only on PostgreSQL")
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url(),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        "JWTSESSION_TEST_STRATEGY": strategy,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sandbox_project'}",
    }
    worker = Worker(cache_settings, env, tmp_path / "worker.log")

    def over_http(token: str) -> str | None:
        status, body = worker.get("/whoami/", {django_settings.SESSION_COOKIE_NAME: token})
        assert status == 200, body[:500]
        answer = json.loads(body)
        return answer["username"] if answer["authenticated"] else None

    try:
        yield over_http
    finally:
        worker.stop()


def login(username: str) -> str:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return session_token(client)


@pytest.mark.usefixtures("sentinel_default_cache")
def test_killing_the_primary_mid_traffic_never_accepts_a_revoked_session(
    deployment: SentinelDeployment, reader: Reader
) -> None:
    bob = make_user("bob")
    make_user("carol")
    tokens = {
        "revoked_during": login("carol"),
        "user_revoked_during": login("bob"),
        "revoked_before": login("bob"),
        "kept": login("carol"),
    }
    owner = {"revoked_before": "bob", "revoked_during": "carol"}
    owner |= {"user_revoked_during": "bob", "kept": "carol"}
    revoked: set[str] = set()

    def check_every_session() -> None:
        for name, token in tokens.items():
            assert reader(token) == (None if name in revoked else owner[name]), name

    check_every_session()
    check_every_session()  # the state entries are in the primary, and in its replica
    for token in tokens.values():
        name = state_cache_key(session_key(token_session_id(token)), token_user_id(token))
        assert caches["default"].get(name) == 0

    revoke_session(session_hash(token_session_id(tokens["revoked_before"])))
    revoked.add("revoked_before")
    check_every_session()

    old_primary = deployment.kill_primary()
    deadline = time.monotonic() + FAILOVER_DEADLINE
    rounds = 0
    while not deployment.failed_over_from(old_primary):
        assert time.monotonic() < deadline, "no failover"
        check_every_session()
        rounds += 1
        if rounds == 1:  # the primary is gone, the replica not promoted yet
            revoke_session(session_hash(token_session_id(tokens["revoked_during"])))
            revoke_user(bob)
            revoked.update({"revoked_during", "user_revoked_during"})
    assert rounds >= 2, "the failover came before traffic saw the primary gone"
    for _ in range(10):  # after the failover: every response still right
        check_every_session()
    # The state check is answered by the new primary again: no query.
    kept = state_cache_key(
        session_key(token_session_id(tokens["kept"])), token_user_id(tokens["kept"])
    )
    assert caches["default"].get(kept) == 0
    assert in_process(tokens["kept"]) == "carol"  # this process's pool reconnected
    with CaptureQueriesContext(connection) as queries:
        assert in_process(tokens["kept"]) == "carol"
    assert len(queries) == 0


def primary_client(deployment: SentinelDeployment) -> redis.Redis:
    return client(deployment.primary_port())


def until_answering(cache_call: Callable[[], Any]) -> Any:
    """``cache_call()`` once the cache answers again (the first calls after a kill fail on
    connections to the dead primary)."""
    deadline = time.monotonic() + FAILOVER_DEADLINE
    while True:
        try:
            return cache_call()
        except Exception:
            assert time.monotonic() < deadline, "the cache did not answer again"
            time.sleep(0.05)


@pytest.mark.strategies("jwt")
def test_a_promoted_replica_is_fenced_before_it_answers(
    settings: Any, deployment: SentinelDeployment
) -> None:
    """The first connection to a primary not seen before drops this app's mirror entries
    (whatever the cache's KEY_PREFIX), keeps the metrics' counts and everything else, and
    records the primary's run_id, so later connections leave new entries alone."""
    settings.CACHES = {
        **settings.CACHES,
        "default": sentinel_cache(deployment) | {"KEY_PREFIX": "site"},
    }
    cache = caches["default"]
    stale = CACHE_PREFIX + session_key("revoked-while-no-primary-was-reachable")
    cache.set_many({stale: 0, metrics.running_key("decode.ok", "jwt"): 5, "other": "kept"})
    with primary_client(deployment) as primary:
        assert primary.wait(1, 2000) == 1  # the replica has them: a promotion keeps them
        first_run_id = primary.info("server")["run_id"]
        assert primary.get(FENCE_KEY) == first_run_id.encode()  # fenced at first connection

    old_primary = deployment.kill_primary()
    deadline = time.monotonic() + FAILOVER_DEADLINE
    while not deployment.failed_over_from(old_primary):
        assert time.monotonic() < deadline, "no failover"
        time.sleep(0.05)

    assert until_answering(lambda: cache.get(stale)) is None  # dropped: the database answers
    assert cache.get(metrics.running_key("decode.ok", "jwt")) == 5
    assert cache.get("other") == "kept"
    with primary_client(deployment) as primary:
        assert primary.get(FENCE_KEY) == primary.info("server")["run_id"].encode()
    cache.set(stale, 1)  # a refill after the fence
    disconnect_pools()  # new connections to the same primary: no second fence
    assert cache.get(stale) == 1


@pytest.mark.usefixtures("sentinel_default_cache")
def test_a_request_opens_no_connection_so_asks_no_sentinel(
    deployment: SentinelDeployment,
) -> None:
    """The pool keeps its connections to the primary; the sentinels are asked where the
    primary is, and the fence runs, only when a connection is opened (redis-py's
    ``SentinelManagedConnection.connect()``): never per request."""
    make_user("bob")
    token = login("bob")
    assert in_process(token) == "bob"
    with primary_client(deployment) as primary:  # one connection of its own, kept open
        before = primary.info("stats")["total_connections_received"]
        for _ in range(20):
            assert in_process(token) == "bob"
        assert primary.info("stats")["total_connections_received"] == before


@pytest.mark.strategies("jwt")
def test_the_pool_refuses_to_read_replicas(settings: Any, deployment: SentinelDeployment) -> None:
    """django-redis's SentinelClient reads from replicas, which may not have a revocation yet."""
    cache_config = sentinel_cache(deployment)
    cache_config["OPTIONS"]["CLIENT_CLASS"] = "django_redis.client.SentinelClient"
    settings.CACHES = {**settings.CACHES, "default": cache_config}
    with pytest.raises(ImproperlyConfigured, match="primary only"):
        caches["default"].get("anything")


@pytest.mark.strategies("jwt")
@pytest.mark.parametrize(
    ("given", "expected"),
    [({}, FencedConnection), ({"connection_class": SSLConnection}, FencedSSLConnection)],
)
def test_rediss_gets_fenced_tls_connections(given: dict[str, Any], expected: type) -> None:
    """``rediss://`` makes redis-py ask for ``SSLConnection``: the pool keeps TLS, fenced."""
    pool = SentinelConnectionPool("jwtsession", sentinel_manager=None, **given)
    assert pool.connection_class is expected


@pytest.mark.usefixtures("sentinel_default_cache")
def test_a_revocation_a_cut_off_writer_could_not_copy_is_replayed(
    settings: Any, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    """A writer cut off from the primary (a partition, no failover: nothing is fenced) revokes
    a session and is gone; readers still reach the primary, which says "not revoked". No mirror
    listener runs on Sentinel, so each process's replayer copies the pending revocation there
    within REPLAY_SECONDS — without the writer."""
    configure(REPLAY_SECONDS=0.2)
    make_user("bob")
    token = login("bob")
    assert in_process(token) == "bob"
    assert in_process(token) == "bob"  # "not revoked" cached on the primary
    settings.CACHES = {
        **settings.CACHES,
        "cut_off": redis_cache(f"redis://127.0.0.1:{free_port()}/0"),
    }
    configure(CACHE_ALIAS="cut_off")
    public_id = session_hash(token_session_id(token))
    revoke_session(public_id)  # committed at once (a transactional test)
    assert "could not be copied to the cache" in caplog.text
    revocation_module._unmirrored.clear()  # the writer is gone: no retry from it
    configure(CACHE_ALIAS="default")
    assert StateEntry.objects.get(key=revoked_key(public_id)).pending is True
    deadline = time.monotonic() + 10
    while in_process(token) is not None:
        assert time.monotonic() < deadline, "the pending revocation was never replayed"
        time.sleep(0.1)
    assert replayer.running()
    deadline = time.monotonic() + 5
    while StateEntry.objects.get(key=revoked_key(public_id)).pending:
        assert time.monotonic() < deadline, "the replayer left the revocation pending"
        time.sleep(0.05)
