"""What a Redis Cluster costs next to one Redis server, on the same machine, in one run.

    .venv/bin/python bench/cluster.py            # about 15 s

It starts its own ``redis-server`` and a three-primary cluster (``tests/cluster.py``) on
loopback, runs the test settings (``tests/settings.py``: SQLite in memory, ``MIRROR`` off: the
round trip is what is measured) and times, alternating the two caches round by round:

- the state check of a signed-in jwt session (``state.read_state``: one ``get_many``), and a
  signed-in db session's read (``SessionStore(key).load()``: its entry and its state in one
  ``get_many``), warm;
- ``revoke_all()`` (one copy of the global epoch on the server, 16,384 on the cluster) and
  ``revoke_session()`` of a session with no record (on the cluster, its entry deleted under
  every tag), both with their database writes;
- on the cluster, making the process's client (the slot map read from a node).

Medians; the cache calls of the state check are counted on the servers (``INFO commandstats``).
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox_project")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.pop("REDIS_URL", None)  # the caches are the ones this script starts

import django  # noqa: E402

django.setup()

from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

ROUNDS = 10
PER_ROUND = 300


def sample(func: Callable[[], Any], n: int) -> list[int]:
    samples = []
    for _ in range(n):
        began = time.perf_counter_ns()
        func()
        samples.append(time.perf_counter_ns() - began)
    return samples


def main() -> None:
    from django.conf import settings

    from django_jwtsession import state
    from django_jwtsession.backends.session import SessionStore
    from django_jwtsession.contrib import cluster
    from django_jwtsession.revocation import revoke_all, revoke_session
    from tests.cluster import RedisClusterNodes, cluster_cache
    from tests.helpers import PASSWORD, make_user, session_token, token_session_id
    from tests.processes import RedisServer, redis_binary

    call_command("migrate", verbosity=0, run_syncdb=True)
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(redis_binary(), Path(directory))
        server.start()
        nodes = RedisClusterNodes(Path(directory))
        nodes.start()
        try:
            caches_by_name = {
                "one server": {
                    "BACKEND": "django_redis.cache.RedisCache",
                    "LOCATION": server.url,
                },
                "cluster": cluster_cache(nodes),
            }
            user = make_user("bob", roles=("editor",))
            jwt = {**settings.JWTSESSION, "STRATEGY": "jwt", "MIRROR": False}
            db = {**settings.JWTSESSION, "STRATEGY": "db", "MIRROR": False}

            def signed_in(strategy: dict[str, Any]) -> str:
                with override_settings(JWTSESSION=strategy):
                    browser = Client()
                    assert browser.login(username="bob", password=PASSWORD)
                    return session_token(browser)

            results: dict[str, dict[str, list[int]]] = {name: {} for name in caches_by_name}
            for cache in caches_by_name.values():
                with override_settings(CACHES={"default": cache}):
                    caches["default"].clear()
            tokens: dict[str, tuple[str, str]] = {}
            for name, cache in caches_by_name.items():
                with override_settings(CACHES={"default": cache}):
                    tokens[name] = (signed_in(jwt), signed_in(db))
            for _ in range(ROUNDS):
                for name, cache in caches_by_name.items():
                    jwt_token, db_token = tokens[name]
                    sid = token_session_id(jwt_token)
                    with override_settings(CACHES={"default": cache}, JWTSESSION=jwt):
                        check = functools.partial(state.read_state, str(user.pk), sid)
                        check()
                        results[name].setdefault("state check (jwt)", []).extend(
                            sample(check, PER_ROUND)
                        )
                    with override_settings(CACHES={"default": cache}, JWTSESSION=db):
                        read = SessionStore(db_token).load  # each load reads the cache again
                        read()
                        results[name].setdefault("db session read", []).extend(
                            sample(read, PER_ROUND)
                        )
            for name, cache in caches_by_name.items():
                with override_settings(CACHES={"default": cache}, JWTSESSION=jwt):
                    results[name]["revoke_all()"] = sample(revoke_all, 5)
                    unknown = iter(f"{n:064x}" for n in range(1, 1000))
                    results[name]["revoke_session(), no record"] = sample(
                        functools.partial(_revoke_next, revoke_session, unknown), 5
                    )
            with override_settings(CACHES={"default": caches_by_name["cluster"]}):

                def connect() -> None:
                    cluster._clusters.clear()
                    caches["default"].client._clients = [None]
                    caches["default"].get("probe")

                results["cluster"]["new client (slot map)"] = sample(connect, 50)
            commands = {
                name: _commands_of_one_check(cache, server, nodes, str(user.pk), tokens[name])
                for name, cache in caches_by_name.items()
            }
        finally:
            nodes.stop()
            server.stop()
    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, Redis on 127.0.0.1")
    print(f"{'':32} {'one server':>14} {'cluster (3)':>14}")
    rows = sorted({row for found in results.values() for row in found}, key=_order)
    for row in rows:
        cells = []
        for name in caches_by_name:
            samples = results[name].get(row)
            cells.append(_format(samples) if samples else "—")
        print(f"{row:32} {cells[0]:>14} {cells[1]:>14}")
    for name, counted in commands.items():
        print(f"commands of one state check, {name}: {counted}")


def _commands_of_one_check(
    cache: dict[str, Any], server: Any, nodes: Any, user_id: str, tokens: tuple[str, str]
) -> dict[str, int]:
    """The commands the Redis servers ran for one state check (``INFO commandstats``)."""
    import redis

    from django_jwtsession import state
    from tests.helpers import token_session_id

    def counts() -> dict[tuple[int, str], int]:
        if "CLIENT_CLASS" in cache.get("OPTIONS", {}):
            found: dict[tuple[int, str], int] = nodes.commands()
            return found
        with redis.Redis(port=server.port) as plain:
            stats = plain.info("commandstats")
        return {(server.port, name[8:]): value["calls"] for name, value in stats.items()}

    from django.conf import settings

    jwt = {**settings.JWTSESSION, "STRATEGY": "jwt", "MIRROR": False}
    with override_settings(CACHES={"default": cache}, JWTSESSION=jwt):
        before = counts()
        state.read_state(user_id, token_session_id(tokens[0]))
        after = counts()
    return {
        f"{command} on :{port}": calls - before.get((port, command), 0)
        for (port, command), calls in after.items()
        if calls != before.get((port, command), 0)
        and command.split("|")[0] not in ("info", "hello", "client")
    }


def _revoke_next(revoke: Callable[[str], Any], ids: Any) -> None:
    revoke(next(ids))


def _order(row: str) -> int:
    order = ["state check", "db session", "revoke_all", "revoke_session", "new client"]
    return next(index for index, prefix in enumerate(order) if row.startswith(prefix))


def _format(samples: list[int]) -> str:
    median = statistics.median(samples) / 1000
    return f"{median:,.1f} µs" if median < 10_000 else f"{median / 1000:,.1f} ms"


if __name__ == "__main__":
    main()
