"""Before/after: the same benchmark stacks at two revisions, in one run.

Usage (from the repository root)::

    .venv/bin/python bench/revisions.py --before 16ef0e3 [--db postgres] [--rounds 6]

The ``--before`` revision is checked out into a temporary git worktree; each round
runs ``bench/run.py``'s worker once in each tree (the order alternates), so both
revisions meet the same machine state. A worker imports the package of its own
tree, with a database and a cache prefix of its own. Each row's overhead is its
median minus bare Django's median *in the same worker*; the table gives the median
of those over the rounds. Only the rows both revisions have are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _worker(tree: Path, db: str, requests: int, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(tree / "bench" / "run.py"),
        "--db",
        db,
        "--requests",
        str(requests),
        "--rounds",
        "1",
        "--worker",
        str(out),
    ]
    subprocess.run(command, cwd=tree, check=True, env=os.environ.copy())  # noqa: S603
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def _separate(tree: Path) -> None:
    """Give the ``before`` tree a database and a cache prefix of its own: each revision
    migrates its own schema (an older one cannot write a newer one's tables)."""
    settings = tree / "bench" / "settings.py"
    text = settings.read_text(encoding="utf-8")
    for name, value in (
        ("BENCH_DATABASE_NAME", "jwtsession_bench"),
        ("CACHE_KEY_PREFIX", "jwtsession-bench"),
    ):
        assignment = f'{name} = "{value}"'
        if assignment not in text:
            raise SystemExit(f"{settings}: no {assignment!r} to give the before tree its own")
        text = text.replace(assignment, f'{name} = "{value}_before"')
    settings.write_text(text, encoding="utf-8")


def _overheads(result: dict[str, Any]) -> dict[str, tuple[str, float, float, float]]:
    rows = {row["key"]: row for row in result["rows"]}
    bare = rows["bare"]["median_us"]
    return {
        key: (row["label"], row["median_us"] - bare, row["queries"], row["cache_calls"])
        for key, row in rows.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the git revision to compare with")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--requests", type=int, default=1500, help="timed requests per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--rows", default="bare,jwt,db_warm", help="row key prefixes to show")
    args = parser.parse_args(argv)

    before_rev = _git("rev-parse", "--short", args.before)
    after_rev = _git("rev-parse", "--short", "HEAD")
    dirty = " + uncommitted changes" if _git("status", "--porcelain") else ""
    runs: dict[str, list[dict[str, tuple[str, float, float, float]]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp) / "before"
        _git("worktree", "add", "--detach", str(before_tree), before_rev)
        _separate(before_tree)
        try:
            trees = [("before", before_tree), ("after", ROOT)]
            for index in range(args.rounds):
                for name, tree in trees if index % 2 == 0 else trees[::-1]:
                    out = Path(tmp) / f"{name}-{index}.json"
                    runs[name].append(_overheads(_worker(tree, args.db, args.requests, out)))
                print(f"  round {index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        finally:
            _git("worktree", "remove", "--force", str(before_tree))

    prefixes = tuple(args.rows.split(","))
    keys = [
        key
        for key in runs["after"][0]
        if key in runs["before"][0] and key.startswith(prefixes) and key != "bare"
    ]
    print(f"\n{args.db}: before = {before_rev}, after = {after_rev}{dirty}; {args.rounds} rounds")
    print(f"of {args.requests} timed requests per stack and revision, alternating.\n")
    print("| stack | before: overhead µs | after: overhead µs | change | SQL/req | cache/req |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in keys:
        before = statistics.median(run[key][1] for run in runs["before"])
        after = statistics.median(run[key][1] for run in runs["after"])
        label, _, queries, cache_calls = runs["after"][0][key]
        change = f"{(after - before) / before:+.0%}" if before > 0 else "n/a"
        print(
            f"| {label} | {before:+.1f} | {after:+.1f} | {change} | {queries:g} | {cache_calls:g} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
