"""What the deployment options of docs/deployment.md cost: Channels and Redis Sentinel.

    .venv/bin/python bench/deployment.py            # about 20 s

- **Channels**: what ``JWTSessionAuthMiddleware`` runs at a websocket connect, and again at
  each re-check (``open_session`` through Channels' ``database_sync_to_async``), next to the
  bare thread hop; with SQL and cache calls counted.
- **Redis Sentinel**: a cache ``get`` through ``contrib.sentinel.SentinelConnectionPool`` and
  through a plain pool on the same primary; opening a connection each way (the sentinel
  lookup and the fence are paid there); the fence after a failover, per 100,000 entries.

It runs the test settings (``tests/settings.py``: SQLite in memory; the cache on
``REDIS_URL``, default ``redis://127.0.0.1:6379/15``) and starts its own primary, replica and
three sentinels (``tests/sentinel.py``), so it needs ``redis-server`` and ``redis-sentinel``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox_project")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

import django  # noqa: E402

django.setup()

from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

ROUNDS = 2000


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def timed(func: Callable[[], Any], n: int = ROUNDS) -> float:
    samples = []
    for _ in range(n):
        began = time.perf_counter_ns()
        func()
        samples.append(time.perf_counter_ns() - began)
    return median_us(samples)


async def timed_async(func: Callable[[], Awaitable[Any]], n: int = ROUNDS) -> float:
    samples = []
    for _ in range(n):
        began = time.perf_counter_ns()
        await func()
        samples.append(time.perf_counter_ns() - began)
    return median_us(samples)


def channels(token: str) -> None:
    from channels.db import database_sync_to_async

    from django_jwtsession.contrib.channels import _open_session, open_session

    async def measure() -> tuple[float, float]:
        hop = await timed_async(database_sync_to_async(lambda: None))
        read = await timed_async(lambda: _open_session(token))
        return hop, read

    hop, read = asyncio.run(measure())
    calls: list[str] = []
    backend = caches["default"]
    original = backend.get_many
    backend.get_many = lambda *a, **k: calls.append("get_many") or original(*a, **k)
    with CaptureQueriesContext(connection) as queries:
        open_session(token)
    backend.get_many = original
    print("## Channels (a signed-in jwt session, fresh claims)")
    print(f"database_sync_to_async hop alone:            {hop:8.1f} µs")
    print(f"connect / re-check (open_session, the hop in): {read:8.1f} µs")
    print(f"  SQL queries: {len(queries)}, cache calls: {calls}")


def sentinel() -> None:
    from django_redis.pool import ConnectionFactory

    from django_jwtsession.contrib import sentinel as fenced
    from tests.sentinel import SentinelDeployment, client, sentinel_cache

    with tempfile.TemporaryDirectory() as directory:
        deployment = SentinelDeployment(Path(directory))
        deployment.start()
        try:
            port = deployment.primary_port()
            plain = {"BACKEND": "django_redis.cache.RedisCache"}
            plain["LOCATION"] = f"redis://127.0.0.1:{port}/0"
            from django.core.cache import CacheHandler

            handler = CacheHandler({"plain": plain, "sentinel": sentinel_cache(deployment)})
            for alias in ("plain", "sentinel"):
                handler[alias].set("probe", 1)
            get_plain = timed(lambda: handler["plain"].get("probe"))
            get_sentinel = timed(lambda: handler["sentinel"].get("probe"))

            def connect(alias: str) -> None:
                for pool in ConnectionFactory._pools.values():
                    pool.disconnect()
                ConnectionFactory._pools.clear()  # a new pool, a new client: a new connection
                handler[alias].client._clients = [None] * len(handler[alias].client._clients)
                handler[alias].get("probe")

            connect_plain = timed(lambda: connect("plain"), 200)
            connect_sentinel = timed(lambda: connect("sentinel"), 200)
            with client(port) as primary:
                for start in range(0, 100_000, 10_000):
                    primary.mset({f":1:jwtsession:s:{n}": 0 for n in range(start, start + 10_000)})
                primary.delete(fenced.FENCE_KEY)
                pool = handler["sentinel"].client.get_client().connection_pool
                conn = pool.get_connection()
                began = time.perf_counter_ns()
                fenced.fence(conn)
                fence_ms = (time.perf_counter_ns() - began) / 1e6
                pool.release(conn)
        finally:
            deployment.stop()
    print("## Redis Sentinel (127.0.0.1)")
    print(f"cache get, plain pool on the primary:        {get_plain:8.1f} µs")
    print(f"cache get, contrib.sentinel pool:            {get_sentinel:8.1f} µs")
    print(f"new connection + get, plain pool:            {connect_plain:8.1f} µs")
    print(f"new connection + get, contrib.sentinel pool: {connect_sentinel:8.1f} µs")
    print(f"fence after a failover, 100,000 entries:     {fence_ms:8.1f} ms")


def main() -> None:
    from tests.helpers import PASSWORD, make_user, session_token

    call_command("migrate", verbosity=0, run_syncdb=True)
    caches["default"].clear()
    make_user("bob", roles=("editor",))
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    token = session_token(client)
    versions = f"Python {sys.version.split()[0]}, Django {django.get_version()}"
    print(f"{versions}, cache {os.environ['REDIS_URL']}")
    channels(token)
    sentinel()


if __name__ == "__main__":
    main()
