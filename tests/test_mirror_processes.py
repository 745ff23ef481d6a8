"""The pushed mirror across OS processes: revocations and marks made in this process are
honoured by worker processes, whatever happens to Redis.

Two WSGI workers per strategy (``python -m tests.servers``, the mirror on: its default)
share the test database (PostgreSQL: other processes cannot share SQLite's in-memory one)
and a redis-server of this module's own, which the tests kill, pause, restart empty and
squeeze under ``maxmemory``. ``/mirror/sync/`` makes a worker wait until every
invalidation Redis sent before it has arrived; ``/mirror/status/`` says what its mirror
does. A request a worker holds longer than ``REQUEST_TIMEOUT`` fails the test: the health
bound (1 s) plus a bounded cache call (0.5 s) plus slack — a paused Redis used to hold
requests for as long as the pause.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from django_jwtsession.keyspace import revoked_key, session_hash
from django_jwtsession.models import StateEntry
from django_jwtsession.revocation import revoke_session
from tests.helpers import (
    PASSWORD,
    disconnect,
    make_user,
    session_token,
    set_roles,
    token_session_id,
    use_cache,
    wait_until,
)
from tests.processes import (
    HTTPServerProcess,
    RedisServer,
    free_port,
    redis_binary,
    require,
    stop_process,
)

User = get_user_model()
pytestmark = [pytest.mark.usefixtures("strategy"), pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT = 3.0
START_TIMEOUT = 30.0


class Worker(HTTPServerProcess):
    def get(self, path: str, token: str = "") -> dict[str, Any]:
        """GET ``path`` (with ``token`` as the session cookie); anything but a 200 fails."""
        headers = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={token}"} if token else {}
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
            assert response.status == 200
            data: dict[str, Any] = json.load(response)
            return data

    def signed_in(self, token: str) -> bool:
        return bool(self.get("/whoami/", token)["authenticated"])

    def status(self) -> dict[str, Any]:
        return self.get("/mirror/status/")

    def sync(self) -> bool:
        return bool(self.get("/mirror/sync/")["synced"])


def environment(redis_url: str, strategy: str, **extra: str) -> dict[str, str]:
    """What a process of the test project needs to share this test's database and Redis."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],  # this run's
        "JWTSESSION_TEST_STRATEGY": strategy,
        "JWTSESSION_TEST_MIRROR": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sandbox_project'}",
        **extra,
    }


@pytest.fixture(scope="module")
def shared(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RedisServer, Callable[[str], list[Worker]], Path]]:
    """This module's redis-server, and two workers per strategy (started on first use)."""
    require(
        connection.vendor == "postgresql",
        "worker processes share the test database only on PostgreSQL (set DATABASE_URL)",
        "REQUIRE_DATABASE_URL",
    )
    directory = tmp_path_factory.mktemp("mirror")
    server = RedisServer(redis_binary(), directory)
    server.start()
    pools: dict[str, list[Worker]] = {}

    def start(strategy: str) -> list[Worker]:
        if strategy not in pools:
            with django_db_blocker.unblock():
                env = environment(server.url, strategy)
            pools[strategy] = [
                Worker(
                    [sys.executable, "-m", "tests.servers", str(port)],
                    env,
                    port,
                    directory / f"worker-{strategy}-{n}.log",
                )
                for n, port in enumerate((free_port(), free_port()))
            ]
            deadline = time.monotonic() + START_TIMEOUT
            for worker in pools[strategy]:
                worker.wait_until_serving(deadline)
        return pools[strategy]

    try:
        yield server, start, directory
    finally:
        for pool in pools.values():
            for worker in pool:
                worker.stop()
        server.stop()
        disconnect(server.url)


@pytest.fixture
def redis_server(shared: Any) -> RedisServer:  # the module's, not a test's own
    server: RedisServer = shared[0]
    return server


@pytest.fixture
def workers(shared: Any, settings: Any, strategy: str) -> Iterator[list[Worker]]:
    """The strategy's workers, their mirrors serving; this process's cache is the same Redis
    (flushed: the workers' mirrors are dropped with it)."""
    server, start, _ = shared
    use_cache(settings, server.url)
    started = start(strategy)
    for worker in started:
        assert wait_until(lambda worker=worker: worker.status()["mode"] == "serving", 10)
    yield started
    disconnect(server.url)


def sessions() -> tuple[Any, dict[str, str]]:
    """Bob signed in twice and carol once (their tokens)."""
    bob = make_user("bob", roles=("editor",))
    make_user("carol")
    tokens = {}
    for name in ("bob_first", "bob_second", "carol"):
        client = Client()
        assert client.login(username=name.split("_")[0], password=PASSWORD)
        tokens[name] = session_token(client)
    return bob, tokens


def mirrored(workers: list[Worker], tokens: dict[str, str]) -> None:
    """Every worker answers every session from its mirror (checked by its hit counter)."""
    for worker in workers:
        for token in tokens.values():
            assert worker.signed_in(token)  # refills Redis from the database
        assert worker.sync()
        for token in tokens.values():
            assert worker.signed_in(token)  # a round trip, kept
        hits = worker.status()["hits"]
        for token in tokens.values():
            assert worker.signed_in(token)
        assert worker.status()["hits"] == hits + len(tokens)


def pending() -> bool:
    return StateEntry.objects.filter(pending=True).exists()


def answers(workers: list[Worker], tokens: dict[str, str]) -> list[dict[str, bool]]:
    return [{name: w.signed_in(token) for name, token in tokens.items()} for w in workers]


REVOKED = {"bob_first": False, "bob_second": True, "carol": True}


def test_a_revocation_in_another_process_is_honoured_on_the_next_request(
    workers: list[Worker],
) -> None:
    _, tokens = sessions()
    mirrored(workers, tokens)
    revoke_session(
        session_hash(token_session_id(tokens["bob_first"]))
    )  # autocommit: Redis has it now
    for worker in workers:
        assert worker.sync()  # its invalidation has arrived: the very next request knows
    assert answers(workers, tokens) == [REVOKED, REVOKED]


@pytest.mark.needs_groups
def test_a_mark_in_another_process_is_honoured_on_the_next_request(
    workers: list[Worker],
) -> None:
    bob, tokens = sessions()
    mirrored(workers, tokens)
    set_roles(bob, ["admin"])
    for worker in workers:
        assert worker.sync()
        assert worker.get("/whoami/", tokens["bob_second"])["roles"] == ["admin"]
        assert worker.get("/whoami/", tokens["bob_first"])["roles"] == ["admin"]


def test_the_listeners_connection_killed(workers: list[Worker], redis_server: RedisServer) -> None:
    _, tokens = sessions()
    mirrored(workers, tokens)
    admin = redis.Redis.from_url(redis_server.url)
    assert admin.client_kill_filter(_type="pubsub") >= len(workers)  # every listener here
    revoke_session(session_hash(token_session_id(tokens["bob_first"])))
    for worker in workers:  # reconnecting, then serving again: never the revoked session

        def refused_until_serving(w: Worker = worker) -> bool:
            assert answers([w], tokens) == [REVOKED]  # every answer, not only the last
            return bool(w.status()["mode"] == "serving")

        assert wait_until(refused_until_serving, 10)
    assert answers(workers, tokens) == [REVOKED, REVOKED]
    mirrored(workers, {name: token for name, token in tokens.items() if REVOKED[name]})
    admin.close()


def test_a_paused_redis_holds_no_request_and_lets_no_revoked_session_in(
    workers: list[Worker], redis_server: RedisServer
) -> None:
    _, tokens = sessions()
    mirrored(workers, tokens)
    redis_server.pause()
    try:
        started = time.monotonic()
        revoke_session(
            session_hash(token_session_id(tokens["bob_first"]))
        )  # the cache copy is left pending
        assert time.monotonic() - started < REQUEST_TIMEOUT  # the writer is not held either
        newcomer = Client()  # a session no mirror holds: its round trip is bounded, then the
        assert newcomer.login(username="carol", password=PASSWORD)  # database answers
        for worker in workers:  # each request answers within REQUEST_TIMEOUT (urlopen's)
            assert worker.signed_in(session_token(newcomer))
            assert wait_until(lambda w=worker: w.status()["mode"] == "down", 5)
        assert answers(workers, tokens) == [REVOKED, REVOKED]  # the database answers
    finally:
        redis_server.resume()
    for worker in workers:  # caught up (the pending revocation copied), then serving again
        assert wait_until(lambda w=worker: w.status()["mode"] == "serving", 10)
    assert answers(workers, tokens) == [REVOKED, REVOKED]
    assert wait_until(lambda: not pending(), 5)  # the copier clears it right after copying


def test_redis_killed_and_restarted_empty(workers: list[Worker], redis_server: RedisServer) -> None:
    _, tokens = sessions()
    mirrored(workers, tokens)
    redis_server.stop()
    try:
        revoke_session(session_hash(token_session_id(tokens["bob_first"])))
        for worker in workers:
            assert wait_until(lambda w=worker: w.status()["mode"] == "down", 5)
        assert answers(workers, tokens) == [REVOKED, REVOKED]
    finally:
        redis_server.start()  # same port, empty
        disconnect(redis_server.url)
    for worker in workers:
        assert wait_until(lambda w=worker: w.status()["mode"] == "serving", 10)
    assert answers(workers, tokens) == [REVOKED, REVOKED]
    mirrored(workers, {name: token for name, token in tokens.items() if REVOKED[name]})


def test_state_keys_evicted_under_maxmemory(
    workers: list[Worker], redis_server: RedisServer
) -> None:
    _, tokens = sessions()
    mirrored(workers, tokens)
    admin = redis.Redis.from_url(redis_server.url)
    admin.config_set("maxmemory-policy", "allkeys-lru")
    admin.config_set("maxmemory", str(int(admin.info("memory")["used_memory"]) + 512 * 1024))
    try:
        pipe = admin.pipeline(transaction=False)
        for n in range(4000):  # twice the room: most of our entries are evicted (pushed)
            pipe.set(f"junk:{n}", b"x" * 1024)
        pipe.execute()
        assert admin.info("stats")["evicted_keys"] > 0
        for worker in workers:
            assert worker.sync()
        assert answers(workers, tokens) == [dict.fromkeys(tokens, True)] * 2
        revoke_session(session_hash(token_session_id(tokens["bob_first"])))
        for worker in workers:
            assert worker.sync()
        assert answers(workers, tokens) == [REVOKED, REVOKED]
    finally:
        admin.config_set("maxmemory", "0")
        admin.flushdb()
        admin.close()


def test_a_revocation_written_while_the_writer_is_cut_off_reaches_every_reader(
    workers: list[Worker], shared: Any, strategy: str
) -> None:
    """A process that cannot reach Redis revokes a session and exits at once: the workers,
    whose mirrors (and Redis) still say "not revoked", learn it from the database's pending
    flag within REPLAY_SECONDS (2 s by default)."""
    _, tokens = sessions()
    mirrored(workers, tokens)
    sid = session_hash(token_session_id(tokens["bob_first"]))  # the public id
    cut_off = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    writer = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, django; django.setup()\n"
            "from django_jwtsession.revocation import revoke_session\n"
            "revoke_session(sys.argv[1])",
            sid,
        ],
        env=environment(cut_off, strategy),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert writer.returncode == 0, writer.stderr.decode()[-2000:]
    assert b"could not be copied to the cache" in writer.stderr  # logged, left pending
    assert StateEntry.objects.get(key=revoked_key(sid)).version == 1  # (a worker may copy it now)
    for worker in workers:
        assert wait_until(lambda w=worker: not w.signed_in(tokens["bob_first"]), 10)
    assert answers(workers, tokens) == [REVOKED, REVOKED]
    assert wait_until(lambda: not pending(), 5)  # the copier clears it right after copying


# -- process models: fork after import (gunicorn --preload), ASGI (uvicorn) ---------------------


def server_binary(name: str) -> str:
    path = Path(sys.executable).parent / name
    require(path.exists(), f"{name} is not installed (the test extra)", "CI")
    return str(path)


@pytest.mark.strategies("jwt")
def test_workers_forked_after_import_run_their_own_listener(
    shared: Any, settings: Any, strategy: str
) -> None:
    """gunicorn --preload imports the project in its master, whose mirror already serves,
    then forks: each worker starts its own listener (after fork) with an empty mirror."""
    server, _, directory = shared
    use_cache(settings, server.url)
    _, tokens = sessions()
    port = free_port()
    argv = [
        server_binary("gunicorn"),
        "--preload",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "tests.servers:application",
    ]
    env = environment(server.url, strategy, JWTSESSION_TEST_PRIME_MIRROR="1")
    gunicorn = Worker(argv, env, port, directory / "gunicorn.log")
    try:
        gunicorn.wait_until_serving(time.monotonic() + START_TIMEOUT)
        assert f"primed: the mirror serves in pid {gunicorn.process.pid}" in (
            gunicorn.log.read_text()
        )
        seen: dict[int, dict[str, Any]] = {}

        def both_serving() -> bool:
            assert gunicorn.signed_in(tokens["carol"])
            status = gunicorn.status()
            seen[status["pid"]] = status
            return len(seen) == 2 and all(s["mode"] == "serving" for s in seen.values())

        assert wait_until(both_serving, 20)
        assert gunicorn.process.pid not in seen  # the workers', not the master's
        assert all(status["running"] for status in seen.values())
    finally:
        stop_process(gunicorn.process)


@pytest.mark.strategies("jwt")
def test_the_mirror_serves_under_asgi(shared: Any, settings: Any, strategy: str) -> None:
    server, _, directory = shared
    use_cache(settings, server.url)
    _, tokens = sessions()
    port = free_port()
    argv = [
        server_binary("uvicorn"),
        "--port",
        str(port),
        "--log-level",
        "warning",
        "tests.servers:asgi_application",
    ]
    uvicorn = Worker(argv, environment(server.url, strategy), port, directory / "uvicorn.log")
    try:
        uvicorn.wait_until_serving(time.monotonic() + START_TIMEOUT)
        assert wait_until(
            lambda: uvicorn.signed_in(tokens["carol"]) and (uvicorn.status()["mode"] == "serving"),
            10,
        )
        mirrored([uvicorn], tokens)
        revoke_session(session_hash(token_session_id(tokens["bob_first"])))
        assert uvicorn.sync()
        assert answers([uvicorn], tokens) == [REVOKED]
    finally:
        stop_process(uvicorn.process)
