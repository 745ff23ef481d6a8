"""CVE-2024-7592: the interpreter's cookie parser against ours, on a hostile header.

Usage::

    .venv/bin/python bench/cookie_parse.py

An 8 KB ``Cookie`` header of backslashes in a quoted value: the time Django's
``parse_cookie`` (the interpreter's ``http.cookies._unquote``) takes, and the time
``django_jwtsession.cookie_header.parse`` takes, in one run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.http.cookie import parse_cookie  # noqa: E402

from django_jwtsession import cookie_header  # noqa: E402

HEADER = 'a="' + "\\\\" * 4000 + '"; sessionid=x'


def best_of(function: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function(HEADER)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    print(f"Python {sys.version.split()[0]}: quadratic unquote: {cookie_header.VULNERABLE_UNQUOTE}")
    print(f"header: {len(HEADER)} bytes")
    print(f"django.http.cookie.parse_cookie: {best_of(parse_cookie) * 1000:9.2f} ms")
    print(f"cookie_header.parse:             {best_of(cookie_header.parse) * 1000:9.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
