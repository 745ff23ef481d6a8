"""Benchmark: a ``/whoami/``-style authenticated request through each stack, side by side.

Usage (from the repository root)::

    .venv/bin/python bench/run.py [--db sqlite|postgres|both] [--requests N] [--markdown]

Each database runs in its own worker process (Django settings are per process);
inside it every stack is timed in interleaved rounds on the same machine.
PostgreSQL + Redis come from ``DATABASE_URL`` / ``REDIS_URL`` (defaults:
``postgres://jwtsession:jwtsession@127.0.0.1:5432/jwtsession`` and
``redis://127.0.0.1:6379/15``); the benchmark uses its own database
``jwtsession_bench`` (created if missing) and its own cache key prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

WARMUP = 50
COUNT_REQUESTS = 20
DB_TITLES = {
    "sqlite": "SQLite (temporary file) + local-memory cache",
    "postgres": "PostgreSQL + Redis (django-redis), both on 127.0.0.1",
}
TARGET_VS_DB = 1 / 20
TARGET_VS_SIMPLEJWT = 1 / 3
TARGET_PUSHED_VS_MEMO = 1.25
TARGET_PUSHED_VS_SIMPLEJWT_AUTH = 2 / 3
PUSHED_ROWS = (("jwt_pushed", "jwt, pushed mirror"), ("db_pushed", "db warm, pushed mirror"))
DB_STRATEGY_ROWS = (
    ("db_warm", "warm"),
    ("db_cold_entry", "session entry evicted"),
    ("db_cold_all", "cache flushed"),
)


# -- worker: one database, every stack ------------------------------------------
def run_worker(db: str, requests: int, rounds: int) -> dict[str, Any]:
    harness.setup_django(db)
    import django
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import override_settings

    from bench.stacks import credential_headers, evictor, mirror_serving, stacks_for

    stacks = stacks_for(db)  # the pushed mirror needs django-redis

    user = harness.prepare_database()
    per_round = max(1, requests // rounds)
    samples: dict[str, list[int]] = {stack.key: [] for stack in stacks}
    io: dict[str, tuple[float, float]] = {}
    started = time.perf_counter()
    for round_index in range(rounds):
        offset = round_index % len(stacks)
        for stack in stacks[offset:] + stacks[:offset]:  # rotate the order every round
            with override_settings(**stack.overrides):
                handler = WSGIHandler()
                headers = credential_headers(stack, user, harness.ROLES)
                base = harness.base_environ(stack.path, headers)
                before = evictor(stack, headers)  # cold-cache stacks: untimed, before each
                if stack.mirror:
                    mirror_serving(handler, lambda h, base=base: harness.request(h, base))
                answers_user = stack.credential != "none" and stack.path != "/bare/"
                harness.check_response(handler, base, answers_user, before)
                if stack.path == "/bare/" and stack.credential == "session":  # untouched
                    _check_no_vary(handler, base, stack.key)
                harness.time_requests(handler, base, WARMUP, before)
                samples[stack.key] += harness.time_requests(handler, base, per_round, before)
                if round_index == 0:
                    io[stack.key] = harness.count_io(handler, base, COUNT_REQUESTS, before)
                    _check_io(stack, io[stack.key])
        print(f"  [{db}] round {round_index + 1}/{rounds} done", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()"
        )
        db_version = cursor.fetchone()[0]
    rows = []
    for stack in stacks:
        values = sorted(samples[stack.key])
        rows.append(
            {
                "key": stack.key,
                "label": stack.label,
                "reference": stack.reference,
                "median_us": statistics.median(values) / 1000,
                "p90_us": values[int(len(values) * 0.9)] / 1000,
                "samples": len(values),
                "queries": io[stack.key][0],
                "cache_calls": io[stack.key][1],
            }
        )
    return {
        "db": db,
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "django": django.get_version(),
        "db_version": db_version.split(" on ")[0],
    }


def _check_io(stack: Any, counted: tuple[float, float]) -> None:
    """Fail loudly when a stack's SQL per request is not what it must be (a cold-cache stack
    that did not go to the database, a warm one that did)."""
    if stack.expect_sql is not None and counted[0] != stack.expect_sql:
        raise RuntimeError(
            f"{stack.key}: {counted[0]:g} SQL queries per request, expected {stack.expect_sql:g}"
        )
    expect_cache = getattr(stack, "expect_cache", None)
    if expect_cache is not None and counted[1] != expect_cache:
        raise RuntimeError(
            f"{stack.key}: {counted[1]:g} cache calls per request, expected {expect_cache:g}"
        )


def _check_no_vary(handler: Any, base: dict[str, Any], key: str) -> None:
    """A request that touched neither session nor user must not vary on the cookie."""
    _, headers, _ = harness.request(handler, base)
    vary = [value for name, value in headers if name.lower() == "vary"]
    if any("cookie" in value.lower() for value in vary):
        raise RuntimeError(f"{key}: answered Vary: {vary}, though it read no session")


# -- report -----------------------------------------------------------------------
def _by_key(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in result["rows"]}


def _overheads(result: dict[str, Any]) -> dict[str, float]:
    rows = _by_key(result)
    bare = rows["bare"]["median_us"]
    return {key: row["median_us"] - bare for key, row in rows.items()}


def _fmt_ratio(numerator: float, denominator: float) -> str:
    if denominator <= 0:
        return "n/a"
    if numerator <= 0:
        return "≈0"
    return f"1/{denominator / numerator:.1f}"


def checks(result: dict[str, Any]) -> list[tuple[str, float, float, float, bool]]:
    """The "Done when" ratios: (name, ours, theirs, target, passed)."""
    over = _overheads(result)
    ours = over["jwt_hs256"]
    out = []
    for key, name, target in (
        ("db", "db + auth", TARGET_VS_DB),
        ("simplejwt_stateless", "simplejwt stateless", TARGET_VS_SIMPLEJWT),
    ):
        theirs = over[key]
        passed = theirs > 0 and ours <= target * theirs
        out.append((name, ours, theirs, target, passed))
    return out


def pushed_checks(result: dict[str, Any]) -> list[tuple[str, float, float, float, bool]]:
    """Issue 12's ratios (PostgreSQL + Redis): each pushed row's overhead against the memo
    row's and against simplejwt stateless authentication's (its overhead over bare DRF)."""
    over = _overheads(result)
    if "jwt_pushed" not in over:
        return []
    memo = over["jwt_hs256"]
    auth_only = over["simplejwt_stateless"] - over["drf"]
    out = []
    for key, name in PUSHED_ROWS:
        ours = over[key]
        for theirs, what, target in (
            (memo, "the memo row", TARGET_PUSHED_VS_MEMO),
            (auth_only, "simplejwt stateless auth over DRF", TARGET_PUSHED_VS_SIMPLEJWT_AUTH),
        ):
            out.append(
                (f"{name} / {what}", ours, theirs, target, theirs > 0 and ours <= target * theirs)
            )
    return out


def _aligned(cells: tuple[str, ...], widths: list[int]) -> str:
    first, *rest = zip(cells, widths, strict=True)
    return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)])


def render(result: dict[str, Any], markdown: bool) -> str:
    over = _overheads(result)
    head = ("stack", "median µs", "p90 µs", "overhead µs", "SQL/req", "cache/req")
    lines = []
    title = f"{DB_TITLES[result['db']]} ({result['db_version']})"
    body = [
        (
            row["label"],
            f"{row['median_us']:.1f}",
            f"{row['p90_us']:.1f}",
            "—" if row["key"] == "bare" else f"{over[row['key']]:+.1f}",
            f"{row['queries']:g}",
            f"{row['cache_calls']:g}",
        )
        for row in result["rows"]
    ]
    if markdown:
        lines.append(f"#### {title}\n")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
    else:
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        lines.append(f"== {title}")
        lines.append(_aligned(head, widths))
        lines += [_aligned(cells, widths) for cells in body]
    lines.append("")
    label = "PostgreSQL + Redis" if result["db"] == "postgres" else "SQLite (informative)"
    lines.append(f"{'**' if markdown else ''}Done-when ratios, {label}:{'**' if markdown else ''}")
    lines.append("")
    for name, ours, theirs, target, passed in checks(result):
        verdict = "PASS" if passed else "FAIL"
        bullet = "- " if markdown else "  "
        lines.append(
            f"{bullet}jwt HS256 overhead / {name} overhead = {ours:.1f} / {theirs:.1f} µs = "
            f"{_fmt_ratio(ours, theirs)} (target ≤ 1/{1 / target:.0f}): {verdict}"
        )
    auth_only = over["simplejwt_stateless"] - over["drf"]
    ratio = _fmt_ratio(over["jwt_hs256"], auth_only)
    lines.append(
        f"{bullet}for context, simplejwt stateless over a DRF APIView without auth = "
        f"{auth_only:+.1f} µs; jwt HS256 overhead / that = {ratio}"
    )
    cached_db = over["cached_db"]
    compared = ", ".join(
        f"{name} {over[key]:+.1f} µs = {over[key] / cached_db:.2f} of it"
        for key, name in DB_STRATEGY_ROWS
    )
    lines.append(
        f"{bullet}db strategy overhead against Django cached_db + auth ({cached_db:+.1f} µs): "
        f"{compared}"
    )
    for name, ours, theirs, target, passed in pushed_checks(result):
        lines.append(
            f"{bullet}{name} = {ours:.1f} / {theirs:.1f} µs = {ours / theirs:.2f} "
            f"(target ≤ {target:.2f}): {'PASS' if passed else 'FAIL'}"
        )
    lines.append("")
    return "\n".join(lines)


def run_workers(script: str, dbs: list[str], options: list[str]) -> list[dict[str, Any]] | int:
    """Run ``script --db DB OPTIONS --worker OUT`` once per database, each in its own
    process (Django settings are per process); their results, or the failing exit code."""
    results = []
    for db in dbs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            command = [sys.executable, script, "--db", db, *options, "--worker", str(out)]
            done = subprocess.run(command, check=False, env=os.environ.copy())  # noqa: S603
            if done.returncode != 0:
                print(f"The {db} run failed (exit {done.returncode}).", file=sys.stderr)
                return done.returncode
            results.append(json.loads(out.read_text(encoding="utf-8")))
    return results


def machine_note(results: list[dict[str, Any]]) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = f"{names[0]}, {len(names)} CPUs"
    except OSError:
        pass
    django_version = results[0]["django"] if results else "?"
    return (
        f"Python {platform.python_version()}, Django {django_version}, {cpu}, "
        f"{platform.system()} {platform.release()}"
    )


# -- command line -------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=4000, help="timed requests per stack")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: JSON output path
    args = parser.parse_args(argv)

    if args.worker:
        result = run_worker(args.db, args.requests, args.rounds)
        Path(args.worker).write_text(json.dumps(result), encoding="utf-8")
        return 0

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    failed = False
    options = ["--requests", str(args.requests), "--rounds", str(args.rounds)]
    results = run_workers(__file__, dbs, options)
    if isinstance(results, int):
        return results
    print()
    print(("Machine: " if not args.markdown else "*Machine:* ") + machine_note(results))
    print(
        f"{args.requests} timed requests per stack in {args.rounds} interleaved rounds "
        f"(after {WARMUP} warm-up requests per round); SQL and cache calls counted over "
        f"{COUNT_REQUESTS} more.\n"
    )
    for result in results:
        print(render(result, args.markdown))
        if result["db"] == "postgres":
            ratios = [*checks(result), *pushed_checks(result)]
            failed = failed or not all(passed for *_, passed in ratios)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
