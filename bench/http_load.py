"""HTTP benchmark: gunicorn (2 sync workers) + wrk on loopback, PostgreSQL + Redis.

Usage (from the repository root)::

    .venv/bin/python bench/http_load.py [--seconds 5] [--rounds 3] [--connections 8] [--markdown]

Serves the bench project's authenticated ``/whoami/`` three ways, each with its own
gunicorn (two sync workers, started together, then measured in interleaved rounds):
the state check memoized in-process (``STATE_MEMO_SECONDS``: revocations seen late),
answered by the pushed mirror (the default), and one cache round trip (``MIRROR=False``).
Reports requests per second, p50 and p99 latency (wrk's ``--latency``), the medians over
the rounds, and the "Done when" ratio: pushed req/s at least 0.9 of the memo row's.

Needs the ``bench`` extra (gunicorn) and ``wrk`` on the PATH; it installs nothing (on
Debian or Ubuntu: ``sudo apt-get install -y wrk``). Same services and database as
``bench/run.py`` (``DATABASE_URL``, ``REDIS_URL``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

CONFIGS = (
    ("jwt_hs256", "jwt, state check memoized (STATE_MEMO_SECONDS)"),
    ("jwt_pushed", "jwt, pushed mirror"),
    ("jwt_hs256_state", "jwt, state check round trip"),
)
TARGET_PUSHED_VS_MEMO = 0.9
UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def get(port: int, path: str, cookie: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response), dict(response.headers)


class Server:
    """gunicorn with two sync workers serving one stack on a free port."""

    def __init__(self, stack: str, log: Path) -> None:
        self.stack, self.port = stack, free_port()
        gunicorn = Path(sys.executable).parent / "gunicorn"
        env = {**os.environ, "BENCH_STACK": stack, "PYTHONPATH": str(ROOT)}
        argv = [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{self.port}"]
        self.log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [*argv, "bench.wsgi:application"], env=env, stdout=self.log, stderr=self.log
        )

    def wait_ready(self, cookie: str, mirror: bool) -> None:
        """Until it answers as signed in with no Set-Cookie (and both mirrors serve)."""
        deadline = time.monotonic() + 60
        pids: set[int] = set()
        while time.monotonic() < deadline:
            try:
                data, headers = get(self.port, "/whoami/", cookie)
                if not mirror:
                    if not data["authenticated"] or "Set-Cookie" in headers:
                        raise RuntimeError(f"{self.stack}: answered {data}, {headers}")
                    return
                status, _ = get(self.port, "/mirror/")
                if status["mode"] == "serving":
                    pids.add(status["pid"])
                if len(pids) == 2:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.stack}: not ready within 60 s (log: {self.log.name})")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def wrk(port: int, cookie: str, seconds: int, connections: int) -> dict[str, float]:
    """One wrk run: req/s, p50 and p99 in µs."""
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-H", f"Cookie: {cookie}", f"http://127.0.0.1:{port}/whoami/",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def micros(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * UNITS[unit]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate is not None, out
    return {"rps": float(rate.group(1)), "p50": micros(latency["50"]), "p99": micros(latency["99"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="each measured wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed; on Debian or Ubuntu: sudo apt-get install -y wrk")
        return 2
    if not (Path(sys.executable).parent / "gunicorn").exists():
        print('gunicorn is not installed: pip install -e ".[bench]"')
        return 2
    harness.setup_django("postgres")
    from django.test.utils import override_settings

    from bench.stacks import STACKS, credential_headers

    stacks = {stack.key: stack for stack in STACKS}
    user = harness.prepare_database()
    cookies = {}
    for key, _ in CONFIGS:
        with override_settings(**stacks[key].overrides):
            cookies[key] = credential_headers(stacks[key], user, harness.ROLES)["HTTP_COOKIE"]
    logs = Path(tempfile.mkdtemp(prefix="jwtsession-http-"))
    servers = {key: Server(key, logs / f"{key}.log") for key, _ in CONFIGS}
    results: dict[str, list[dict[str, float]]] = {key: [] for key, _ in CONFIGS}
    try:
        for key, server in servers.items():
            server.wait_ready(cookies[key], mirror=stacks[key].mirror)
            wrk(server.port, cookies[key], 2, args.connections)  # warm-up, not reported
        for round_index in range(args.rounds):
            order = list(servers)[round_index % 3 :] + list(servers)[: round_index % 3]
            for key in order:
                results[key].append(
                    wrk(servers[key].port, cookies[key], args.seconds, args.connections)
                )
            print(f"  round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    finally:
        for server in servers.values():
            server.stop()
    return report(results, args)


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> int:
    medians = {
        key: {name: statistics.median(run[name] for run in runs) for name in ("rps", "p50", "p99")}
        for key, runs in results.items()
    }
    print(
        f"\ngunicorn, 2 sync workers; wrk -t2 -c{args.connections}, {args.rounds} rounds of "
        f"{args.seconds} s per configuration, interleaved; medians over the rounds.\n"
    )
    head = ("configuration", "req/s", "p50 ms", "p99 ms")
    rows = [
        (label, f"{medians[key]['rps']:.0f}", f"{medians[key]['p50'] / 1000:.2f}",
         f"{medians[key]['p99'] / 1000:.2f}")
        for key, label in CONFIGS
    ]  # fmt: skip
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|---|---:|---:|---:|")
        print("\n".join("| " + " | ".join(row) + " |" for row in rows))
    else:
        widths = [max(len(row[i]) for row in [head, *rows]) for i in range(4)]
        for row in [head, *rows]:
            print(
                "  ".join(
                    [
                        row[0].ljust(widths[0]),
                        *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
                    ]
                )
            )
    ratio = medians["jwt_pushed"]["rps"] / medians["jwt_hs256"]["rps"]
    passed = ratio >= TARGET_PUSHED_VS_MEMO
    print(
        f"\npushed mirror req/s / memo req/s = {ratio:.2f} "
        f"(target ≥ {TARGET_PUSHED_VS_MEMO}): {'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
