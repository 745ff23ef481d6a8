"""Micro-costs of issue 3's machinery: the state check, a claims refresh, a login.

Used by ``bench/workload.py``, which sets Django up and calls these under the
settings of the ``jwt_hs256_state`` stack (``bench/stacks.py``: the default
configuration, one cache round trip per request).
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import Any

from bench import harness

USER_AGENT = "jwtsession-bench/1.0"
IO_COUNT = 20
ROUNDS = 5
_STATEMENT = re.compile(r'^\s*(SELECT\b.*?\bFROM|INSERT INTO|UPDATE|DELETE FROM)\s+"(\w+)"', re.S)


# -- helpers shared with the workload ----------------------------------------------
def summarize(samples_ns: list[int]) -> tuple[float, float]:
    """Median and 90th percentile, in µs."""
    values = sorted(samples_ns)
    return statistics.median(values) / 1000, values[int(len(values) * 0.9)] / 1000


def time_calls(
    func: Callable[[], Any], n: int, before: Callable[[], Any] | None = None
) -> list[int]:
    """Wall time of ``n`` calls of ``func``, in ns each; ``before`` runs untimed before each."""
    samples = []
    perf = time.perf_counter_ns
    for _ in range(n):
        if before is not None:
            before()
        began = perf()
        func()
        samples.append(perf() - began)
    return samples


def count_calls(
    func: Callable[[], Any], n: int = IO_COUNT, before: Callable[[], Any] | None = None
) -> tuple[float, float]:
    """SQL queries and cache calls per call of ``func`` (``before`` is not counted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queries = cache_calls = 0
    for _ in range(n):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as captured, harness.count_cache_calls() as calls:
            func()
        queries += len(captured.captured_queries)
        cache_calls += calls[0]
    return queries / n, cache_calls / n


def statement_summary(sql: str) -> str:
    """``SELECT auth_user``-style summary of one SQL statement."""
    match = _STATEMENT.match(sql)
    return f"{match.group(1).split()[0].upper()} {match.group(2)}" if match else sql[:40].strip()


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def update_jar(jar: dict[str, str], headers: list[tuple[str, str]]) -> bool:
    """Apply a response's ``Set-Cookie`` headers to ``jar``; True when any was set."""
    changed = False
    for name, value in headers:
        if name.lower() != "set-cookie":
            continue
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(value)
        for key, morsel in parsed.items():
            changed = True
            if morsel["max-age"] == "0" or not morsel.value:
                jar.pop(key, None)
            else:
                jar[key] = morsel.value
    return changed


def login_jar(user: Any) -> dict[str, str]:
    """A real ``force_login()`` under the current settings; the client's cookies."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {name: morsel.value for name, morsel in client.cookies.items()}


@contextmanager
def count_refreshes() -> Iterator[Counter[str]]:
    """Count ``claims_refreshed`` receptions by reason."""
    from django_jwtsession.signals import claims_refreshed

    counts: Counter[str] = Counter()

    def receiver(sender: Any, reason: str = "?", **kwargs: Any) -> None:
        counts[reason] += 1

    claims_refreshed.connect(receiver, weak=False, dispatch_uid="bench-count-refreshes")
    try:
        yield counts
    finally:
        claims_refreshed.disconnect(dispatch_uid="bench-count-refreshes")


def _row(key: str, label: str, samples: list[int], io: tuple[float, float]) -> dict[str, Any]:
    median, p90 = summarize(samples)
    return {
        "key": key,
        "label": label,
        "median_us": median,
        "p90_us": p90,
        "samples": len(samples),
        "queries": io[0],
        "cache_calls": io[1],
    }


def _redis_ping(alias: str) -> Callable[[], Any] | None:
    """A bare Redis ``PING`` on the cache's connection, or None when it is not django-redis."""
    from django.core.cache import caches

    if type(caches[alias]).__module__.split(".")[0] != "django_redis":
        return None
    from django_redis import get_redis_connection

    return get_redis_connection(alias).ping


# -- (a) the state check on its own ---------------------------------------------------
def measure_state_check(user: Any, n: int) -> list[dict[str, Any]]:
    """``read_state()`` with the entries cached, with them missing, and memoized."""
    from django.conf import settings
    from django.core.cache import caches
    from django.test.utils import override_settings

    from django_jwtsession import keyspace, state
    from django_jwtsession.backends.jwt import SessionStore
    from django_jwtsession.conf import get_settings

    jar = login_jar(user)
    session_id = SessionStore(jar[next(iter(jar))]).session_id
    assert session_id is not None
    user_id = str(user.pk)
    _, prefixed = keyspace.state_entries(user_id, session_id)  # their cache keys
    cache = caches[get_settings().cache_alias]

    def check() -> None:
        state.read_state(user_id, session_id)

    def evict() -> None:
        cache.delete_many(prefixed)

    ping = _redis_ping(get_settings().cache_alias)
    pings: list[int] = []
    memo = override_settings(JWTSESSION={**settings.JWTSESSION, "STATE_MEMO_SECONDS": 3600})
    warm: list[int] = []
    cold: list[int] = []
    memoized: list[int] = []
    check()  # the entries exist and are cached
    time_calls(check, 200)
    time_calls(check, 50, before=evict)
    for _ in range(ROUNDS):  # interleaved, so that a busy moment spreads over all three
        if ping is not None:
            pings += time_calls(ping, n // ROUNDS)
        warm += time_calls(check, n // ROUNDS)
        cold += time_calls(check, max(1, n // 5 // ROUNDS), before=evict)
        with memo:
            check()
            memoized += time_calls(check, n // ROUNDS)
    with memo:
        check()
        memo_io = count_calls(check)
    floor = [] if ping is None else [_row("ping", "Redis PING (round-trip floor)", pings, (0, 1))]
    return [
        *floor,
        _row(
            "state_warm",
            "state check, entries cached: read_state() = 1 get_many",
            warm,
            count_calls(check),
        ),
        _row(
            "state_cold",
            "state check, entries evicted: get_many + DB read + refill",
            cold,
            count_calls(check, before=evict),
        ),
        _row("state_memo", "state check, in-process memo (STATE_MEMO_SECONDS)", memoized, memo_io),
    ]


# -- (b) a request that refreshes its claims, next to a steady-state one ------------
def measure_refresh(user: Any, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """A steady-state ``/whoami/`` next to one whose user was marked (claims rebuilt).

    The marked request keeps sending the token issued before the mark, so every
    one of them rebuilds the claims and re-issues the cookie, exactly as the first
    request after a mark does: the claims the previous one shared (issue 12) are
    deleted before each, untimed. Returns the rows and the refresh request's SQL.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_jwtsession import cache_access
    from django_jwtsession.revocation import mark_for_refresh
    from django_jwtsession.shared_claims import entry_key
    from django_jwtsession.state import read_state

    handler = WSGIHandler()
    headers = {"HTTP_USER_AGENT": USER_AGENT}
    stale_jar = login_jar(user)
    mark_for_refresh(user)  # autocommit: committed and mirrored to the cache now
    shared = entry_key(str(user.pk), read_state(str(user.pk), None).mark)

    def unshare() -> None:  # each stale request rebuilds, as the first after a mark does
        cache_access.delete(shared)

    stale = harness.base_environ("/whoami/", {**headers, "HTTP_COOKIE": cookie_header(stale_jar)})
    fresh_jar = dict(stale_jar)
    _status, response_headers, _body = harness.request(handler, stale)
    if not update_jar(fresh_jar, response_headers):
        raise RuntimeError("the first request after a mark did not re-issue the cookie")
    steady = harness.base_environ("/whoami/", {**headers, "HTTP_COOKIE": cookie_header(fresh_jar)})
    harness.check_response(handler, steady, authenticated=True)  # and no Set-Cookie

    steady_samples: list[int] = []
    refresh_samples: list[int] = []
    with count_refreshes() as refreshes:
        harness.time_requests(handler, steady, 50)
        harness.time_requests(handler, stale, 50, unshare)
        for _ in range(max(1, n // 50)):  # interleaved, 50 at a time
            steady_samples += harness.time_requests(handler, steady, 50)
            refresh_samples += harness.time_requests(handler, stale, 50, unshare)
        expected = 50 + len(refresh_samples)
    if refreshes != Counter({"mark": expected}):
        raise RuntimeError(f"expected {expected} refreshes (mark), counted {dict(refreshes)}")
    unshare()
    with CaptureQueriesContext(connection) as captured:
        harness.request(handler, stale)
    sql = [statement_summary(query["sql"]) for query in captured.captured_queries]
    rows = [
        _row(
            "request_steady",
            "request, steady state (state check, no refresh)",
            steady_samples,
            harness.count_io(handler, steady, IO_COUNT),
        ),
        _row(
            "request_refresh",
            "request after a mark: claims rebuilt + cookie re-issued",
            refresh_samples,
            harness.count_io(handler, stale, IO_COUNT, unshare),
        ),
    ]
    return rows, sql


# -- (c) login: claims built, token issued ------------------------------------------
def measure_login(user: Any, n: int, stacks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``Client.force_login()`` (``login()`` + saving the session) under each stack."""
    from django.test import Client
    from django.test.utils import override_settings

    rows = []
    for key, (label, overrides) in stacks.items():
        with override_settings(**overrides):
            ready: list[Client] = []

            def new_client(ready: list[Client] = ready) -> None:
                ready.append(Client())  # a fresh, anonymous client: made outside the timing

            def login(ready: list[Client] = ready) -> None:
                ready.pop().force_login(user)

            time_calls(login, 20, before=new_client)
            samples = time_calls(login, n, before=new_client)
            io = count_calls(login, before=new_client)
        rows.append(_row(key, label, samples, io))
    return rows
