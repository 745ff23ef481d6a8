"""Cache outages and worker processes: revocation holds when Redis stops, in every worker.

The Redis servers here are this module's own (``redis-server`` on a free loopback
port, nothing saved to disk), so stopping one affects no other test. They run on
SQLite too; the tests with several worker processes need PostgreSQL, which other
OS processes can share.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client

from django_jwtsession import metrics
from django_jwtsession.keyspace import GLOBAL_EPOCH, session_hash, session_key
from django_jwtsession.revocation import revoke_all, revoke_session, revoke_user
from tests.helpers import (
    PASSWORD,
    Configure,
    disconnect,
    make_user,
    redis_cache,
    session_token,
    state_cache_key,
    token_session_id,
    token_user_id,
    use_cache,
)
from tests.processes import RedisServer, redis_binary, require, stop_process

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
SCOPES = ("session", "user", "all")
SESSIONS = ("bob_first", "bob_second", "carol")


@pytest.fixture
def outage(db: None, settings: Any, redis_server: RedisServer) -> Iterator[RedisServer]:
    """The default cache is ``redis_server``, which the test may stop and restart."""
    use_cache(settings, redis_server.url)
    try:
        yield redis_server
    finally:
        disconnect(redis_server.url)


# -- requests ------------------------------------------------------------------------------------


def login(username: str = "bob") -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def whoami(client: Client) -> dict[str, Any]:
    """``/whoami/`` through the real middleware; anything but a 200 is a failure."""
    response = client.get("/whoami/")
    assert response.status_code == 200, response.content[:500]
    data: dict[str, Any] = response.json()
    return data


def authenticated(client: Client) -> bool:
    return bool(whoami(client)["authenticated"])


def replay(token: str) -> Client:
    """A new client presenting ``token``, as a copied cookie would."""
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = token
    return client


def signed_in(tokens: dict[str, str]) -> dict[str, bool]:
    """Which of these session tokens a request is authenticated with, right now."""
    return {name: authenticated(replay(token)) for name, token in tokens.items()}


def three_sessions() -> tuple[User, dict[str, str]]:
    """Bob signed in twice and carol once: their session tokens, each checked once."""
    bob = make_user("bob")
    make_user("carol")
    tokens = {name: session_token(login(name.split("_")[0])) for name in SESSIONS}
    assert signed_in(tokens) == dict.fromkeys(SESSIONS, True)
    return bob, tokens


def sid(token: str) -> str:
    return token_session_id(token)


def cache_is_down() -> bool:
    try:
        caches["default"].get("probe")
    except Exception:
        return True
    return False


def cached(key: str, user: object = None) -> int | None:
    """The cached value of the state entry ``key`` (a session's: of ``user``'s session)."""
    value: int | None = caches["default"].get(state_cache_key(key, user))
    return value


def revoke(scope: str, bob: User, tokens: dict[str, str]) -> None:
    """The revocation ``scope``, always hitting bob's first session."""
    if scope == "session":
        revoke_session(session_hash(sid(tokens["bob_first"])))
    elif scope == "user":
        revoke_user(bob)
    else:
        revoke_all()


def still_signed_in(scope: str) -> dict[str, bool]:
    """Which of the three sessions survive ``scope``."""
    return {"bob_first": False, "bob_second": scope == "session", "carol": scope != "all"}


# -- Redis stopped mid-test, default policy ("database") ----------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_revoked_before_redis_stops_stays_revoked_while_it_is_down(
    outage: RedisServer, django_capture_on_commit_callbacks: Any, scope: str
) -> None:
    bob, tokens = three_sessions()
    for token in tokens.values():
        assert cached(session_key(sid(token)), token_user_id(token)) == 0  # served by Redis
    with django_capture_on_commit_callbacks(execute=True):  # the commit mirrors the cache
        revoke(scope, bob, tokens)

    outage.stop()
    assert cache_is_down()
    for _ in range(2):  # no 500, and the database answers every time
        assert signed_in(tokens) == still_signed_in(scope)
    assert authenticated(login("carol"))  # logging in works without the cache


@pytest.mark.parametrize("scope", SCOPES)
def test_revoked_while_redis_is_down_stays_revoked_when_it_is_back(
    outage: RedisServer, django_capture_on_commit_callbacks: Any, scope: str, strategy: str
) -> None:
    """A revocation written during an outage reaches the database only: ``bump()`` can
    neither drop the cache entries nor mirror the new values on commit.

    The Redis that comes back is empty (``--save ''``, no AOF: nothing survives a restart),
    so the first read after it misses and refills from the database. A cache that kept its
    data (RDB/AOF persistence, a replica promoted with the old value, or a writer cut off
    from a cache its readers still reach) would keep serving the "not revoked" entries
    until ``STATE_CACHE_TIMEOUT``; that cannot happen with this non-persistent server.
    """
    bob, tokens = three_sessions()

    outage.stop()
    with django_capture_on_commit_callbacks(execute=True):
        revoke(scope, bob, tokens)
    assert signed_in(tokens) == still_signed_in(scope)

    outage.start()  # same port, empty
    assert not cache_is_down()
    for _ in range(2):  # the refilling read, then cache hits
        assert signed_in(tokens) == still_signed_in(scope)
    if strategy == "jwt" or scope == "session":  # a db session revoked by user/all is gone
        assert cached(session_key(sid(tokens["bob_first"])), bob.pk) == (scope == "session")
    assert cached(GLOBAL_EPOCH) == (scope == "all")  # the database's values, refilled


@pytest.mark.parametrize("policy", ["database", "refuse"])
def test_an_outage_is_one_log_line_and_its_end_another(
    outage: RedisServer, configure: Configure, caplog: pytest.LogCaptureFixture, policy: str
) -> None:
    """Not a traceback per request: one line when the cache stops answering (what happens
    meanwhile), one when it answers again; every request meanwhile is in the metrics."""
    configure(ON_CACHE_OUTAGE=policy)
    _, tokens = three_sessions()
    metrics.reset()
    outage.stop()
    with caplog.at_level(logging.DEBUG, logger="django_jwtsession"):
        for _ in range(3):
            signed_in(tokens)  # 9 requests
        logged = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert [r.levelname for r in logged] == ["ERROR"], [r.getMessage() for r in logged]
        assert logged[0].exc_info is None
        assert "the cache 'default' is unreachable (ConnectionError" in logged[0].getMessage()
        assert "Logged once until it answers again" in logged[0].getMessage()
        caplog.clear()
        outage.start()
        signed_in(tokens)
        signed_in(tokens)
    logged = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.levelname for r in logged] == ["WARNING"], [r.getMessage() for r in logged]
    assert "the cache 'default' answers again after" in logged[0].getMessage()
    metrics.flush()
    counted = metrics.totals()["state.refused" if policy == "refuse" else "state.fallback"]
    assert counted == 9


def test_ignore_exceptions_turns_an_outage_into_a_miss(
    db: None, settings: Any, redis_server: RedisServer
) -> None:
    """django-redis's IGNORE_EXCEPTIONS answers an empty ``get_many``: the database decides."""
    use_cache(settings, redis_server.url, IGNORE_EXCEPTIONS=True)
    try:
        _, tokens = three_sessions()
        redis_server.stop()
        assert caches["default"].get_many(["probe"]) == {}  # an outage looks like a miss
        revoke_session(session_hash(sid(tokens["bob_first"])))
        assert signed_in(tokens) == still_signed_in("session")
    finally:
        disconnect(redis_server.url)


# -- ON_CACHE_OUTAGE = "refuse" ------------------------------------------------------------------


def expiring_session_cookie(response: HttpResponseBase) -> bool:
    return any(
        name.split(".")[0] == django_settings.SESSION_COOKIE_NAME and morsel["max-age"] == 0
        for name, morsel in response.cookies.items()
    )


def test_refuse_serves_anonymous_keeps_the_cookie_and_recovers(
    outage: RedisServer, configure: Configure
) -> None:
    configure(ON_CACHE_OUTAGE="refuse")
    make_user("bob")
    client = login()
    assert authenticated(client)
    token = session_token(client)

    outage.stop()
    for _ in range(2):
        response = client.get("/whoami/")
        assert response.status_code == 200
        assert response.json() == {"authenticated": False}
        assert not expiring_session_cookie(response)
        assert session_token(client) == token

    outage.start()
    assert whoami(client)["username"] == "bob"
    assert session_token(client) == token


def test_refuse_leaves_the_cookie_alone_even_when_the_view_writes(
    outage: RedisServer, configure: Configure, settings: Any
) -> None:
    """A write during the outage is dropped (the session looks empty), never saved over
    the real one; the cookie keeps its value and its browser-session lifetime."""
    configure(ON_CACHE_OUTAGE="refuse")
    settings.SESSION_SAVE_EVERY_REQUEST = True
    make_user("bob")
    client = login()
    client.get("/expiry/?seconds=0")  # a browser-session cookie
    token = session_token(client)
    outage.stop()
    response = client.get("/set/?color=blue")
    assert response.status_code == 200
    assert django_settings.SESSION_COOKIE_NAME not in response.cookies
    assert session_token(client) == token
    outage.start()
    assert whoami(client)["username"] == "bob"
    assert client.get("/get/?color").json() == {"color": None}


def test_signing_in_during_an_outage_ends_the_previous_session(
    outage: RedisServer, configure: Configure, django_capture_on_commit_callbacks: Any
) -> None:
    """Django's login() sees an empty (suspended) session and only cycles the key: the
    suspended session, perhaps someone else's, is revoked all the same."""
    configure(ON_CACHE_OUTAGE="refuse")
    make_user("bob")
    make_user("carol")
    client = login()
    bobs = session_token(client)
    outage.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert response.status_code == 302
    outage.start()
    assert whoami(client)["username"] == "carol"
    assert not authenticated(replay(bobs))


def test_refuse_never_brings_back_a_session_revoked_during_the_outage(
    outage: RedisServer, configure: Configure, django_capture_on_commit_callbacks: Any
) -> None:
    configure(ON_CACHE_OUTAGE="refuse")
    _, tokens = three_sessions()

    outage.stop()
    with django_capture_on_commit_callbacks(execute=True):
        revoke_session(session_hash(sid(tokens["bob_first"])))
    assert signed_in(tokens) == dict.fromkeys(SESSIONS, False)

    outage.start()
    assert signed_in(tokens) == still_signed_in("session")


# -- a writer that cannot reach the cache --------------------------------------------------------


def test_a_writer_cut_off_from_the_cache_catches_up_after_its_next_request(
    outage: RedisServer,
    settings: Any,
    configure: Configure,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A partition between one process and the cache, while readers still reach it.

    The revocation lands in the database but cannot drop or replace the cached entry,
    so readers keep trusting it: the failure is logged, the keys are remembered, and
    that process copies them to the cache after its next request.
    """
    _, tokens = three_sessions()
    settings.CACHES = {**settings.CACHES, "cut_off": redis_cache("redis://127.0.0.1:1/0")}
    configure(CACHE_ALIAS="cut_off")
    with django_capture_on_commit_callbacks(execute=True):
        revoke_session(session_hash(sid(tokens["bob_first"])))
    assert "could not be copied to the cache" in caplog.text
    configure(CACHE_ALIAS="default")  # readers reach the cache; the writer's copy failed
    # The stale entry is trusted, as documented; at this request's end the retry runs.
    assert authenticated(replay(tokens["bob_first"]))
    assert signed_in(tokens) == still_signed_in("session")


# -- several worker processes --------------------------------------------------------------------

WORKER = """
from wsgiref.simple_server import make_server

from django.core.wsgi import get_wsgi_application

server = make_server("127.0.0.1", 0, get_wsgi_application())
print(server.server_port, flush=True)
server.serve_forever()
"""


class Worker:
    """A separate OS process serving the test project over HTTP on 127.0.0.1."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.port = 0

    def wait_until_serving(self, deadline: float) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], max(deadline - time.monotonic(), 0))
        line = stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            pytest.fail(f"a worker did not start:\n{self.log.read_text()[-3000:]}")
        self.port = int(line)

    def whoami(self, token: str) -> dict[str, Any]:
        """``/whoami/`` with ``token`` as the session cookie; anything but a 200 fails."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/whoami/",
            headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
            data: dict[str, Any] = json.load(response)
            return data

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()


def postgres_url() -> str:
    """The test database (not the configured one) as a ``DATABASE_URL``."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture(scope="module")
def worker_pools(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], tuple[RedisServer, list[Worker]]]]:
    """Two worker processes per strategy, sharing the test database and a Redis server
    with this one (started on first use, stopped at the end of the module)."""
    require(
        connection.vendor == "postgresql",
        "worker processes share the test database only on PostgreSQL (set DATABASE_URL)",
        "REQUIRE_DATABASE_URL",
    )
    directory = tmp_path_factory.mktemp("workers")
    redis = RedisServer(redis_binary(), directory)
    redis.start()
    pools: dict[str, list[Worker]] = {}

    def start(strategy: str) -> tuple[RedisServer, list[Worker]]:
        if strategy not in pools:
            with django_db_blocker.unblock():
                database_url = postgres_url()
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],  # this run's
                "JWTSESSION_TEST_STRATEGY": strategy,
                "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sandbox_project'}",
            }
            pools[strategy] = started = []
            started.extend(Worker(env, directory / f"worker-{strategy}-{n}.log") for n in range(2))
            deadline = time.monotonic() + START_TIMEOUT
            for worker in started:
                worker.wait_until_serving(deadline)
        return redis, pools[strategy]

    try:
        yield start
    finally:
        for pool in pools.values():
            for worker in pool:
                worker.stop()
        redis.stop()
        disconnect(redis.url)


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.django_db(transaction=True)
def test_revocation_ends_the_session_in_every_worker(
    worker_pools: Callable[[str], tuple[RedisServer, list[Worker]]],
    settings: Any,
    scope: str,
    strategy: str,
) -> None:
    """Two processes serve the same sessions; a revocation made in a third (this one)
    makes the next request anonymous in both, through the shared Redis and database."""
    redis, servers = worker_pools(strategy)
    use_cache(settings, redis.url)  # the workers' cache, empty
    bob, tokens = three_sessions()
    for server in servers:
        assert {name: server.whoami(t)["authenticated"] for name, t in tokens.items()} == (
            dict.fromkeys(SESSIONS, True)
        )
    assert cached(session_key(sid(tokens["bob_first"])), bob.pk) == 0  # the workers hit Redis

    revoke(scope, bob, tokens)  # autocommit: mirrored to Redis at once

    for server in servers:
        assert {name: server.whoami(t)["authenticated"] for name, t in tokens.items()} == (
            still_signed_in(scope)
        )
