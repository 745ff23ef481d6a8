"""Benchmark issue 3: the state check, a claims refresh, and a simulated workload.

Usage (from the repository root)::

    .venv/bin/python bench/workload.py [--db sqlite|postgres|both] [--requests N]
        [--users N] [--seed N] [--markdown]

First the micro-costs (``bench/state_cost.py``): the state check alone, with its
cache entries present and evicted; a request whose user was marked (claims
rebuilt, cookie re-issued) next to a steady-state one; a login. Then the
workload: many users with real session cookies, a seeded random user per
request, and 1 % of the users changing role (a group added or removed through
the ORM, committed) at random points. It reports the claims cache hit rate, SQL
per 1,000 requests and, for every role change, how many of that user's requests
it took to see the new role. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness, state_cost  # noqa: E402
from bench.run import DB_TITLES, machine_note, run_workers  # noqa: E402

STACK = "jwt_hs256_state"  # the default configuration: one cache round trip per request
ROLE_POOL = ("viewer", "editor", "billing", "support")
CHANGED_ROLE = "editor"  # added to users without it, removed from users with it
CHANGE_SHARE = 0.01
TARGET_HIT_RATE = 0.99
MICRO_CALLS = 5000
REFRESH_REQUESTS = 500
LOGINS = 100


# -- the simulated workload ---------------------------------------------------------
def _create_users(count: int, rng: random.Random) -> dict[int, list[str]]:
    """``count`` users with one or two roles each; return their roles by id."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLE_POOL}
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [User(username=f"user{index:05d}", password=unusable) for index in range(count)]
    )
    roles: dict[int, list[str]] = {}
    links = []
    for user in users:
        names = sorted(rng.sample(ROLE_POOL, rng.randint(1, 2)))
        roles[user.pk] = names
        links += [User.groups.through(user_id=user.pk, group_id=groups[n].pk) for n in names]
    User.groups.through.objects.bulk_create(links)
    return roles


def _change_role(user_id: int, roles: list[str], reverse: bool) -> tuple[list[str], str]:
    """Add or remove ``CHANGED_ROLE`` through the ORM (the signal path), committed.

    ``reverse`` goes through ``group.user_set`` instead of ``user.groups``.
    Return the new roles and a description of the change.
    """
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    user = User.objects.get(pk=user_id)
    group = Group.objects.get(name=CHANGED_ROLE)
    add = CHANGED_ROLE not in roles
    with transaction.atomic():
        if reverse:
            (group.user_set.add if add else group.user_set.remove)(user)
        else:
            (user.groups.add if add else user.groups.remove)(group)
    verb = "add" if add else "remove"
    how = f"group.user_set.{verb}()" if reverse else f"user.groups.{verb}()"
    new_roles = sorted({*roles, CHANGED_ROLE} if add else set(roles) - {CHANGED_ROLE})
    return new_roles, how


def _library_counters() -> dict[str, int] | None:
    """The library's own counters (``django_jwtsession.metrics``), flushed; None without them."""
    try:
        from django_jwtsession import metrics

        metrics.flush()
        totals: dict[str, int] = metrics.totals()
    except (ImportError, AttributeError):
        return None
    return totals


def run_workload(requests: int, users: int, seed: int) -> dict[str, Any]:
    """Drive ``requests`` ``/whoami/`` requests over ``users`` users; see the module doc."""
    from django.contrib.auth.models import User
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_jwtsession.models import StateEntry

    rng = random.Random(seed)
    roles = _create_users(users, rng)
    user_ids = sorted(roles)
    by_id = User.objects.in_bulk(user_ids)
    jars = {pk: state_cost.login_jar(by_id[pk]) for pk in user_ids}
    window = range(requests // 20, requests * 4 // 5)  # leave requests to see each change
    changes = min(max(1, round(users * CHANGE_SHARE)), len(window))
    changed_users = rng.sample(user_ids, changes)
    points = sorted(rng.sample(window, changes))
    schedule = dict(zip(points, changed_users, strict=True))

    handler = WSGIHandler()
    base = harness.base_environ("/whoami/", {"HTTP_USER_AGENT": state_cost.USER_AGENT})
    bench_user = User.objects.get(username=harness.USERNAME)
    warm = {**base, "HTTP_COOKIE": state_cost.cookie_header(state_cost.login_jar(bench_user))}
    harness.check_response(handler, warm, authenticated=True)  # fails loudly if misconfigured
    table = StateEntry._meta.db_table
    pending: dict[int, dict[str, Any]] = {}  # role changes not seen yet, by user id
    seen: dict[int, dict[str, Any]] = {}  # role changes seen, by user id
    wrong: list[str] = []
    request_sql: list[str] = []
    change_queries = change_cache_calls = anonymous = reissued = 0
    samples: list[int] = []
    perf = time.perf_counter_ns
    counters_before = _library_counters()
    started = time.perf_counter()
    with harness.count_cache_calls() as cache_calls, state_cost.count_refreshes() as refreshes:
        for index in range(requests):
            if index in schedule:
                user_id = schedule[index]
                calls_before = cache_calls[0]
                with CaptureQueriesContext(connection) as captured:
                    roles[user_id], how = _change_role(user_id, roles[user_id], index % 2 == 1)
                committed = perf()
                change_queries += len(captured.captured_queries)
                change_cache_calls += cache_calls[0] - calls_before
                pending[user_id] = {
                    "user": by_id[user_id].get_username(),
                    "how": how,
                    "roles": roles[user_id],
                    "at_request": index,
                    "committed_ns": committed,
                    "user_requests": 0,
                    "seen_at_request": None,
                    "later_checked": 0,
                }
            user_id = rng.choice(user_ids)
            environ = dict(base)
            environ["HTTP_COOKIE"] = state_cost.cookie_header(jars[user_id])
            with CaptureQueriesContext(connection) as captured:
                began = perf()
                status, headers, body = harness.request(handler, environ)
                ended = perf()
            samples.append(ended - began)
            request_sql += [query["sql"] for query in captured.captured_queries]
            reissued += state_cost.update_jar(jars[user_id], headers)
            data = json.loads(body) if status.startswith("200") else {}
            if not data.get("authenticated") or data.get("id") != user_id:
                anonymous += 1
                wrong.append(f"request {index}: user {user_id} answered {status} {data}")
                continue
            change = pending.get(user_id)
            if change is not None:
                change["user_requests"] += 1
            if data["roles"] != roles[user_id]:
                if change is None:  # not a change still on its way: a wrong answer
                    wrong.append(
                        f"request {index}: user {user_id} has roles {data['roles']}, "
                        f"expected {roles[user_id]}"
                    )
            elif change is not None:  # the first answer with the new roles
                change["seen_at_request"] = index
                change["requests_between"] = index - change["at_request"]
                change["ms_to_seen"] = (ended - change.pop("committed_ns")) / 1e6
                seen[user_id] = pending.pop(user_id)
            elif user_id in seen:
                seen[user_id]["later_checked"] += 1
    seconds = time.perf_counter() - started
    counters_after = _library_counters()
    counters = (
        {name: counters_after[name] - counters_before[name] for name in counters_after}
        if counters_before is not None and counters_after is not None
        else None
    )
    # A state check that misses the cache reads StateEntry once: count those reads.
    state_misses = sum(
        1 for sql in request_sql if table in sql and sql.lstrip().upper().startswith("SELECT")
    )
    authenticated = requests - anonymous
    rebuilt = sum(count for reason, count in refreshes.items() if reason != "login")
    median, p90 = state_cost.summarize(samples)
    for change in pending.values():  # never requested again (not expected with the defaults)
        change.pop("committed_ns")
    changes = sorted([*seen.values(), *pending.values()], key=lambda c: c["at_request"])
    return {
        "requests": requests,
        "users": users,
        "seed": seed,
        "authenticated": authenticated,
        "anonymous": anonymous,
        "refreshes": dict(refreshes),
        "rebuilt": rebuilt,
        "hit_rate": (authenticated - rebuilt) / authenticated if authenticated else 0.0,
        "state_checks": authenticated,
        "state_misses": state_misses,
        "state_hit_rate": 1 - state_misses / authenticated if authenticated else 0.0,
        "queries": len(request_sql),
        "queries_per_1000": len(request_sql) / requests * 1000,
        "cache_calls_per_request": (cache_calls[0] - change_cache_calls) / requests,
        "reissued": reissued,
        "change_queries": change_queries,
        "seconds": seconds,
        "median_us": median,
        "p90_us": p90,
        "changes": changes,
        "counters": counters,
        "wrong": wrong[:20],
        "wrong_count": len(wrong),
    }


# -- worker: one database --------------------------------------------------------------
def run_worker(db: str, requests: int, users: int, seed: int) -> dict[str, Any]:
    harness.setup_django(db)
    import django
    from django.db import connection
    from django.test.utils import override_settings

    from bench.stacks import STACKS

    stacks = {stack.key: stack for stack in STACKS}
    overrides = dict(stacks[STACK].overrides)
    if db == "sqlite":  # local memory culls at 300 entries by default: room for every user
        overrides["CACHES"] = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            }
        }
    started = time.perf_counter()
    with override_settings(**overrides):
        user = harness.prepare_database()
        micro = state_cost.measure_state_check(user, MICRO_CALLS)
        print(f"  [{db}] state check measured", file=sys.stderr, flush=True)
        rows, refresh_sql = state_cost.measure_refresh(user, REFRESH_REQUESTS)
        micro += rows
        print(f"  [{db}] refresh measured", file=sys.stderr, flush=True)
        micro += state_cost.measure_login(
            user,
            LOGINS,
            {
                "login_jwt": ("login + token issued (force_login), jwtsession jwt", {}),
                "login_db": (
                    "login (force_login), Django db session (reference)",
                    stacks["db"].overrides,
                ),
            },
        )
        print(f"  [{db}] login measured; workload…", file=sys.stderr, flush=True)
        workload = run_workload(requests, users, seed)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()"
        )
        db_version = cursor.fetchone()[0]
    return {
        "db": db,
        "micro": micro,
        "refresh_sql": refresh_sql,
        "workload": workload,
        "seconds": time.perf_counter() - started,
        "django": django.get_version(),
        "db_version": db_version.split(" on ")[0],
    }


# -- report -------------------------------------------------------------------------
def failures(result: dict[str, Any]) -> list[str]:
    """The targets a result misses (empty when all are met)."""
    workload = result["workload"]
    out = []
    if workload["hit_rate"] < TARGET_HIT_RATE:
        out.append(f"claims cache hit rate {workload['hit_rate']:.2%} < {TARGET_HIT_RATE:.0%}")
    for change in workload["changes"]:
        if change["seen_at_request"] is None:
            out.append(f"{change['user']}: no request after the change")
        elif change["user_requests"] != 1:
            out.append(f"{change['user']}: new role seen at request {change['user_requests']}")
    if workload["wrong_count"]:
        out.append(f"{workload['wrong_count']} wrong answers, e.g. {workload['wrong'][0]}")
    return out


def _table(
    head: tuple[str, ...], body: list[tuple[str, ...]], markdown: bool, left: int = 1
) -> list[str]:
    """A table; the first ``left`` columns are text (left-aligned in Markdown)."""
    if markdown:
        return [
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|",
            *("| " + " | ".join(cells) + " |" for cells in body),
        ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = zip(cells, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(c.rjust(w) for c, w in rest)])

    return [line(head), *(line(cells) for cells in body)]


def _percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def _counter_rows(counters: dict[str, int] | None) -> list[tuple[str, str]]:
    """The library's counters over the workload, as a cross-check of the ones above."""
    if not counters:
        return []
    shown = {
        name.split(".", 1)[1]: value
        for name, value in counters.items()
        if name.startswith(("state.", "refresh.")) and value
    }
    text = ", ".join(f"{name} {value}" for name, value in shown.items())
    return [("library counters (state.*, refresh.*)", text or "none")]


def render(result: dict[str, Any], markdown: bool) -> str:
    title = f"{DB_TITLES[result['db']]} ({result['db_version']})"
    lines = [f"#### {title}\n" if markdown else f"== {title}"]
    micro = {row["key"]: row for row in result["micro"]}
    lines += _table(
        ("measure", "median µs", "p90 µs", "SQL", "cache calls"),
        [
            (
                row["label"],
                f"{row['median_us']:.1f}",
                f"{row['p90_us']:.1f}",
                f"{row['queries']:g}",
                f"{row['cache_calls']:g}",
            )
            for row in result["micro"]
        ],
        markdown,
    )
    steady, refresh = micro["request_steady"], micro["request_refresh"]
    lines += [
        "",
        f"A refresh adds {refresh['median_us'] - steady['median_us']:+.1f} µs and "
        f"{refresh['queries'] - steady['queries']:g} SQL queries to a request "
        f"(its SQL: {', '.join(result['refresh_sql']) or 'none'}).",
        "",
    ]
    workload = result["workload"]
    refreshes = workload["refreshes"]
    counts = {"mark": 0, "ttl": 0, **refreshes}  # TTL refreshes shown even when none
    reasons = ", ".join(f"{reason} {count}" for reason, count in counts.items())
    hit = workload["hit_rate"]
    lines += _table(
        ("workload", "value"),
        [
            (
                "requests / users / role changes",
                f"{workload['requests']} / {workload['users']} / {len(workload['changes'])}",
            ),
            ("authenticated answers", f"{workload['authenticated']}"),
            ("claims refreshes (by reason)", reasons),
            (
                "claims cache hit rate (target ≥ 99 %)",
                f"{_percent(hit)} {'PASS' if hit >= TARGET_HIT_RATE else 'FAIL'}",
            ),
            (
                "state check cache hit rate",
                f"{_percent(workload['state_hit_rate'])} "
                f"({workload['state_misses']} misses / {workload['state_checks']})",
            ),
            *_counter_rows(workload["counters"]),
            ("SQL queries per 1,000 requests", f"{workload['queries_per_1000']:.2f}"),
            ("cache calls per request", f"{workload['cache_calls_per_request']:.3f}"),
            ("cookies re-issued", f"{workload['reissued']}"),
            ("wrong answers (roles or user)", f"{workload['wrong_count']}"),
            (
                "request median / p90 (instrumented)",
                f"{workload['median_us']:.0f} / {workload['p90_us']:.0f} µs",
            ),
            ("wall time", f"{workload['seconds']:.1f} s"),
        ],
        markdown,
    )
    lines.append("")
    body = []
    for change in workload["changes"]:
        seen = change["seen_at_request"] is not None
        body.append(
            (
                change["user"],
                change["how"],
                f"{change['at_request']}",
                f"{change['user_requests']}" if seen else "—",
                f"{change['requests_between']}" if seen else "—",
                f"{change['ms_to_seen']:.1f}" if seen else "—",
                f"{change.get('later_checked', 0)}",
            )
        )
    lines += _table(
        (
            "role change",
            "through",
            "after request #",
            "user's requests to see it",
            "requests by all in between",
            "ms commit → seen",
            "later requests checked",
        ),
        body,
        markdown,
        left=2,
    )
    lines.append("")
    missed = failures(result)
    lines.append(("Targets: " + "; ".join(missed) + ": FAIL") if missed else "Targets: PASS")
    lines.append("")
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=20000, help="workload requests")
    parser.add_argument("--users", type=int, default=500, help="workload users")
    parser.add_argument("--seed", type=int, default=3, help="random seed")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: JSON output path
    args = parser.parse_args(argv)
    if args.requests < 100 or args.users < 1:
        parser.error("--requests must be at least 100 and --users at least 1")

    if args.worker:
        result = run_worker(args.db, args.requests, args.users, args.seed)
        Path(args.worker).write_text(json.dumps(result), encoding="utf-8")
        return 0

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    options = ["--requests", str(args.requests), "--users", str(args.users)]
    results = run_workers(__file__, dbs, [*options, "--seed", str(args.seed)])
    if isinstance(results, int):
        return results
    print()
    print(("Machine: " if not args.markdown else "*Machine:* ") + machine_note(results))
    print(
        f"State check: {MICRO_CALLS} calls ({MICRO_CALLS // 5} evicted); requests: "
        f"{REFRESH_REQUESTS} steady and {REFRESH_REQUESTS} refreshing, interleaved; "
        f"{LOGINS} logins per engine; SQL and cache calls counted over "
        f"{state_cost.IO_COUNT} more. Workload: {args.requests} requests, {args.users} users, "
        f"seed {args.seed}.\n"
    )
    failed = False
    for result in results:
        print(render(result, args.markdown))
        failed = failed or bool(failures(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
