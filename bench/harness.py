"""Set up Django for a benchmark process, and drive a WSGI handler directly.

Requests go straight to ``WSGIHandler`` with a prepared environ (no test
client, no server), so what is timed is Django's request path and the stack's
middleware, view and I/O, nothing else.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench"
ROLES = ["editor"]
CACHE_METHODS = (
    "add", "get", "set", "touch", "delete", "get_many", "get_or_set", "has_key", "incr",
    "decr", "set_many", "delete_many", "clear", "incr_version", "decr_version",
    "aadd", "aget", "aset", "atouch", "adelete", "aget_many", "aget_or_set", "ahas_key",
    "aincr", "adecr", "aset_many", "adelete_many", "aclear",
    "ttl", "expire", "persist", "delete_pattern", "iter_keys", "keys", "lock",
)  # fmt: skip


def setup_django(db: str) -> None:
    """Point Django at ``bench.settings`` for ``db`` ("sqlite" or "postgres") and set it up."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DB"] = db
    if db == "sqlite":
        directory = tempfile.mkdtemp(prefix="jwtsession-bench-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ["BENCH_SQLITE_PATH"] = str(Path(directory) / "bench.sqlite3")
    else:
        _create_postgres_database()
    import django

    django.setup()


def _create_postgres_database() -> None:
    """Create ``jwtsession_bench`` if missing, connecting to ``DATABASE_URL``'s own database."""
    import psycopg

    from bench.settings import BENCH_DATABASE_NAME, DEFAULT_DATABASE_URL, postgres_database

    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    admin = postgres_database(url, "")
    from urllib.parse import urlsplit

    admin_db = urlsplit(url).path.lstrip("/") or "postgres"
    params = {
        "dbname": admin_db,
        "user": admin["USER"] or None,
        "password": admin["PASSWORD"] or None,
        "host": admin["HOST"] or None,
        "port": admin["PORT"] or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE_NAME}"')


def prepare_database() -> Any:
    """Migrate, empty the tables and the cache's bench keys; create the user. Return it."""
    from django.contrib.auth.models import Group, User
    from django.core.cache import caches
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)
    cache = caches["default"]
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # only this benchmark's KEY_PREFIX
    else:
        cache.clear()
    user = User.objects.create_user(USERNAME, password="bench-password")
    user.groups.set([Group.objects.create(name=role) for role in ROLES])
    return user


def base_environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multiprocess": True,
        "wsgi.multithread": False,
        "wsgi.run_once": False,
        **headers,
    }


class _Capture:
    status = ""
    headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status, self.headers = status, headers


def _noop_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    return None


def request(handler: Callable[..., Any], base: dict[str, Any]) -> tuple[str, list[Any], bytes]:
    """One request; return ``(status, headers, body)``."""
    capture = _Capture()
    environ = dict(base)
    environ["wsgi.input"] = io.BytesIO()
    response = handler(environ, capture)
    body = b"".join(response)
    response.close()
    return capture.status, capture.headers, body


def time_requests(
    handler: Callable[..., Any],
    base: dict[str, Any],
    n: int,
    before: Callable[[], Any] | None = None,
) -> list[int]:
    """Wall time of ``n`` requests, in nanoseconds each; ``before`` (if given) runs ahead of
    each request, outside the timed section."""
    samples = []
    perf = time.perf_counter_ns
    start_response = _noop_start_response
    for _ in range(n):
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO()
        if before is not None:
            before()
        began = perf()
        response = handler(environ, start_response)
        for _chunk in response:
            pass
        response.close()
        samples.append(perf() - began)
    return samples


def check_response(
    handler: Callable[..., Any],
    base: dict[str, Any],
    authenticated: bool,
    before: Callable[[], Any] | None = None,
) -> None:
    """Fail loudly unless the stack answers as expected (and sets no cookie on the hot path).

    ``before`` (if given) runs first, as it does ahead of each timed request.
    """
    if before is not None:
        before()
    status, headers, body = request(handler, base)
    if not status.startswith("200"):
        raise RuntimeError(f"{base['PATH_INFO']} answered {status}: {body[:200]!r}")
    data = json.loads(body)
    expected = (
        {"authenticated": True, "username": USERNAME, "roles": ROLES}
        if authenticated
        else {"authenticated": False, "username": None, "roles": []}
    )
    got = {key: data.get(key) for key in expected}
    if got != expected:
        raise RuntimeError(f"{base['PATH_INFO']} answered {data}, expected {expected}")
    if any(name.lower() == "set-cookie" for name, _ in headers):
        raise RuntimeError(f"{base['PATH_INFO']} set a cookie on the hot path: {headers}")


@contextmanager
def count_cache_calls(alias: str = "default") -> Iterator[list[int]]:
    """Count outermost calls to the real cache object's methods (nested calls count once)."""
    from django.core.cache import caches

    cache = caches[alias]
    counter = [0]
    depth = [0]
    wrapped = []
    for name in CACHE_METHODS:
        method = getattr(cache, name, None)
        if method is None or not callable(method):
            continue

        def wrapper(*args: Any, __method: Any = method, **kwargs: Any) -> Any:
            if depth[0] == 0:
                counter[0] += 1
            depth[0] += 1
            try:
                return __method(*args, **kwargs)
            finally:
                depth[0] -= 1

        setattr(cache, name, wrapper)
        wrapped.append(name)
    try:
        yield counter
    finally:
        for name in wrapped:
            delattr(cache, name)


def count_io(
    handler: Callable[..., Any],
    base: dict[str, Any],
    n: int,
    before: Callable[[], Any] | None = None,
) -> tuple[float, float]:
    """SQL queries and cache calls per request, over ``n`` requests; ``before`` (if given)
    runs ahead of each, and its own queries and cache calls are not counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    excluded_queries = excluded_calls = 0
    with CaptureQueriesContext(connection) as queries, count_cache_calls() as cache_calls:
        for _ in range(n):
            if before is not None:
                queries_before, calls_before = len(queries.captured_queries), cache_calls[0]
                before()
                excluded_queries += len(queries.captured_queries) - queries_before
                excluded_calls += cache_calls[0] - calls_before
            request(handler, base)
    queries_made = len(queries.captured_queries) - excluded_queries
    return queries_made / n, (cache_calls[0] - excluded_calls) / n
