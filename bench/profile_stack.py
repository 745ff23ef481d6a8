"""Profile one stack's request path, and time the token decode on its own.

Usage (from the repository root)::

    .venv/bin/python bench/profile_stack.py [--stack jwt_hs256] [--requests N] [--top 30]
    .venv/bin/python bench/profile_stack.py --stack db_pushed --db postgres

Runs on SQLite (the jwt stacks do no I/O on the hot path) unless ``--db postgres`` (the
stacks that need django-redis: the pushed mirror's). Prints cProfile's
top functions by own time and by cumulative time, then micro-timings of
``codec.decode`` next to ``jwt.decode`` and a bare HMAC-SHA256.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402


def per_call_us(func: Callable[[], Any], n: int = 20000) -> float:
    """Median of 5 runs of ``n`` calls, in µs per call."""
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(n):
            func()
        runs.append((time.perf_counter() - began) / n * 1e6)
    return sorted(runs)[2]


def micro(token: str) -> None:
    import jwt

    from django_jwtsession import codec
    from django_jwtsession.keys import get_key_ring

    key = get_key_ring().current.verify_key
    header, body, _signature = token.split(".")
    signing_input = f"{header}.{body}".encode()
    print("Micro-timings (µs per call):")
    print(f"  codec.decode(token)                  {per_call_us(lambda: codec.decode(token)):7.2f}")
    print(
        "  jwt.decode(token, HS256)             "
        f"{per_call_us(lambda: jwt.decode(token, key, algorithms=['HS256'])):7.2f}"
    )
    print(
        "  hmac.new(key, input, sha256).digest  "
        f"{per_call_us(lambda: hmac.new(key, signing_input, hashlib.sha256).digest()):7.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="jwt_hs256")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)

    harness.setup_django(args.db)
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    from bench.stacks import STACKS, credential_headers, evictor, mirror_serving

    stack = next(s for s in STACKS if s.key == args.stack)
    user = harness.prepare_database()
    with override_settings(**stack.overrides):
        handler = WSGIHandler()
        headers = credential_headers(stack, user, harness.ROLES)
        base = harness.base_environ(stack.path, headers)
        before = evictor(stack, headers)  # cold-cache stacks (its cost is profiled too)
        harness.check_response(handler, base, stack.credential != "none", before)
        if stack.mirror:
            mirror_serving(handler, lambda h: harness.request(h, base))
        harness.time_requests(handler, base, 500, before)
        profiler = cProfile.Profile()
        profiler.enable()
        harness.time_requests(handler, base, args.requests, before)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        cookie = headers.get("HTTP_COOKIE", "")
        options = stack.overrides.get("JWTSESSION", {})
        if (
            cookie.startswith("sessionid=")
            and not options.get("ENCRYPT")
            and options.get("STRATEGY", "jwt") == "jwt"
        ):
            micro(cookie.split("=", 1)[1].split(";")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
