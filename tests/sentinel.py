"""A Redis Sentinel deployment of the tests' own on 127.0.0.1: a primary, a replica and three
``redis-sentinel`` processes on free ports, nothing saved to disk; the primary can be killed
and the failover awaited. ``redis-server`` and ``redis-sentinel`` are Debian's (``.ci/run``
installs them); a missing binary fails under ``REQUIRE_REDIS_URL`` (CI) and skips elsewhere."""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.processes import free_port, stop_process

SERVICE = "jwtsession"
POOL = "django_jwtsession.contrib.sentinel.SentinelConnectionPool"
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 3000
START_TIMEOUT = 20.0
FAILOVER_DEADLINE = 20.0


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian: apt-get install redis-server redis-sentinel)"
        if os.environ.get("REQUIRE_REDIS_URL") or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def client(port: int) -> redis.Redis:
    """A plain redis-py client of one process (a server or a sentinel), short timeouts."""
    return redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)


def answers(port: int) -> bool:
    try:
        with client(port) as connection:
            return bool(connection.ping())
    except redis.RedisError:
        return False


class Process:
    """One ``redis-server`` or ``redis-sentinel`` of ours."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_until_answering(self, deadline: float) -> None:
        while not answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"port {self.port} did not answer:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last replication, as a crashed machine."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)


class SentinelDeployment:
    """A primary, a replica of it, and three sentinels watching them (quorum 2)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.servers: list[Process] = []
        self.sentinels: list[Process] = []

    # -- starting ------------------------------------------------------------------------------
    def start(self) -> None:
        server, sentinel = binary("redis-server"), binary("redis-sentinel")
        deadline = time.monotonic() + START_TIMEOUT
        primary = self._server(server, [])
        primary.wait_until_answering(deadline)
        replica = self._server(server, ["--replicaof", "127.0.0.1", str(primary.port)])
        replica.wait_until_answering(deadline)
        # Each sentinel is told the others and the replica, so none waits for discovery.
        peers = [(free_port(), secrets.token_hex(20)) for _ in range(3)]
        for index, (port, myid) in enumerate(peers):
            known = [
                f"sentinel known-sentinel {SERVICE} 127.0.0.1 {other} {other_id}"
                for other, other_id in peers
                if other != port
            ]
            known.append(f"sentinel known-replica {SERVICE} 127.0.0.1 {replica.port}")
            self.sentinels.append(self._sentinel(sentinel, index, port, myid, primary.port, known))
        for process in self.sentinels:
            process.wait_until_answering(deadline)
        self._wait_until_ready(deadline)

    def _server(self, binary_path: str, extra: list[str]) -> Process:
        port = free_port()
        argv = [binary_path, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.directory)]
        argv += ["--repl-diskless-sync-delay", "0", *extra]  # no 5 s wait before a full sync
        process = Process(argv, port, self.directory / f"redis-{port}.log")
        self.servers.append(process)
        return process

    def _sentinel(
        self,
        binary_path: str,
        index: int,
        port: int,
        myid: str,
        primary_port: int,
        known: list[str],
    ) -> Process:
        config = self.directory / f"sentinel-{index}.conf"  # sentinels rewrite their config
        lines = [
            f"port {port}",
            "bind 127.0.0.1",
            f"dir {self.directory}",
            f"sentinel myid {myid}",
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {SERVICE} 1",
            *known,
        ]
        config.write_text("\n".join(lines) + "\n")
        return Process([binary_path, str(config)], port, self.directory / f"sentinel-{index}.log")

    def _wait_until_ready(self, deadline: float) -> None:
        """Until every sentinel knows the replica and the two other sentinels (a failover
        needs a majority of them to agree), and the replica is in sync."""
        while True:
            try:
                ready = all(self._sees_everyone(process.port) for process in self.sentinels)
                with client(self.servers[1].port) as replica:
                    ready = ready and replica.info("replication")["master_link_status"] == "up"
            except redis.RedisError:
                ready = False
            if ready:
                return
            if time.monotonic() > deadline:
                pytest.fail("the sentinels did not discover each other and the replica in time")
            time.sleep(0.1)

    @staticmethod
    def _sees_everyone(port: int) -> bool:
        with client(port) as sentinel:
            state = sentinel.sentinel_master(SERVICE)
        return bool(state["num-slaves"] == 1 and state["num-other-sentinels"] == 2)

    # -- the deployment ------------------------------------------------------------------------
    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of each sentinel: django-redis's ``SENTINELS``."""
        return [("127.0.0.1", process.port) for process in self.sentinels]

    def primary_port(self) -> int:
        """The port the sentinels name as the primary now."""
        with client(self.sentinels[0].port) as sentinel:
            _, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    @property
    def primary(self) -> Process:
        port = self.primary_port()
        return next(process for process in self.servers if process.port == port)

    def kill_primary(self) -> int:
        """SIGKILL the primary; its port."""
        killed = self.primary
        killed.kill()
        return killed.port

    def failed_over_from(self, old_port: int) -> bool:
        """True once the sentinels name another primary, and it takes writes."""
        try:
            port = self.primary_port()
            if port == old_port:
                return False
            with client(port) as primary:
                return bool(primary.info("replication")["role"] == "master")
        except redis.RedisError:
            return False

    def stop(self) -> None:
        for process in [*self.sentinels, *self.servers]:
            process.stop()


def sentinel_cache(deployment: SentinelDeployment, **options: Any) -> dict[str, Any]:
    """A django-redis cache on the deployment, as docs/deployment.md configures it: the
    primary found through the sentinels, with the package's fencing pool."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://{SERVICE}/0",
        "OPTIONS": {
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "CONNECTION_POOL_CLASS": POOL,
            "SENTINELS": deployment.addresses,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            **options,
        },
    }


WORKER = """
import json
import json
import os
import select
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings

settings.CACHES = {**settings.CACHES, "default": json.loads(os.environ["SENTINEL_CACHE"])}

from django.core.wsgi import get_wsgi_application


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
"""


class Worker:
    """A WSGI worker process of the test project whose cache is the Sentinel deployment."""

    def __init__(self, cache: dict[str, Any], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env={**env, "SENTINEL_CACHE": json.dumps(cache)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            pytest.fail(f"the worker did not start:\n{log.read_text()[-3000:]}")
        self.port = int(line)

    def get(self, path: str, cookies: dict[str, str]) -> tuple[int, bytes]:
        """GET ``path`` with these cookies: the status and the body (never raises on a 500)."""
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Cookie": cookie}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()
