"""What a refused db-strategy cookie costs: malformed, made up (first time and again), next
to a valid one — a ``/whoami/`` request each, side by side in one run.

Usage (from the repository root; PostgreSQL + Redis as for ``bench/run.py``)::

    .venv/bin/python bench/db_key_cost.py [--db postgres|sqlite] [--requests 400]

A made-up key (well-formed, naming no session) costs one query the first time; the miss
is remembered in the cache (``UNKNOWN_SECONDS``), so the same key again costs one cache
round trip, like a malformed one costs none.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args(argv)
    harness.setup_django(args.db)
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import Client
    from django.test.utils import override_settings

    user = harness.prepare_database()
    overrides = {
        "MIDDLEWARE": [
            "django_jwtsession.middleware.SessionMiddleware",
            "django_jwtsession.middleware.AuthenticationMiddleware",
        ],
        "SESSION_ENGINE": "django_jwtsession.backends.session",
        "JWTSESSION": {"STRATEGY": "db"},
    }
    with override_settings(**overrides):
        client = Client()
        client.force_login(user)
        valid = client.cookies[settings.SESSION_COOKIE_NAME].value
        handler = WSGIHandler()
        name = settings.SESSION_COOKIE_NAME
        fresh = [f"d1.{secrets.token_urlsafe(32)}" for _ in range(args.requests)]
        cases = {
            "valid key (warm)": lambda: valid,
            "malformed key": lambda: "d1.not-a-key",
            "made-up key, each one new": lambda: fresh.pop(),
            "made-up key, the same again": lambda: "d1." + "A" * 43,
        }
        results = {}
        for label, key in cases.items():
            samples = []
            for _ in range(args.requests):
                base = harness.base_environ("/whoami/", {"HTTP_COOKIE": f"{name}={key()}"})
                samples += harness.time_requests(handler, base, 1)
            results[label] = statistics.median(samples) / 1000
    print(f"{args.db}: median of {args.requests} /whoami/ requests each")
    for label, median in results.items():
        print(f"  {label:32} {median:9.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
