"""What a user agent the admin has not seen before costs to parse, per ua-parser resolver.

The admin's device / OS / browser columns (``django_jwtsession/admin/agents.py``) call
``ua_parser.parse()``, which picks the fastest resolver installed: ``regex`` (the
``ua-parser[regex]`` extra: ua-parser-rs, Rust), else ``re2`` (google-re2), else ``basic``
(Python's ``re``). A string seen before is a cache hit and costs next to nothing, so this
times misses only: each resolver is built without a cache and asked for every domain
(device, OS, browser) of a set of distinct real-world strings::

    .venv/bin/python bench/ua_parse.py                  # the resolvers installed
    .venv/bin/pip install "ua-parser[regex]"            # then again, to compare

Needs only ua-parser (a dependency of django-jwtsession).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable

import ua_parser
from ua_parser import BasicResolver, Domain, load_builtins, load_lazy_builtins

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "okhttp/4.12.0",
)


def resolvers() -> dict[str, Callable[[str, Domain], object]]:
    """Every resolver installed, without a cache (as ``ua_parser`` builds them)."""
    found: dict[str, Callable[[str, Domain], object]] = {"basic": BasicResolver(load_builtins())}
    if importlib.util.find_spec("ua_parser_rs"):
        from ua_parser.regex import Resolver as RegexResolver

        found["regex"] = RegexResolver(load_lazy_builtins())
    if importlib.util.find_spec("re2"):
        from ua_parser.re2 import Resolver as Re2Resolver

        found["re2"] = Re2Resolver(load_lazy_builtins())
    return found


def per_agent_us(resolve: Callable[[str, Domain], object], rounds: int) -> list[float]:
    """Each round: the mean time of one parse over ``AGENTS``, in µs."""
    means = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for agent in AGENTS:
            resolve(agent, Domain.ALL)
        means.append((time.perf_counter_ns() - start) / len(AGENTS) / 1000)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (default 20)")
    args = parser.parse_args()
    print(f"ua-parser {'.'.join(map(str, ua_parser.VERSION))}, {len(AGENTS)} user agents")
    print(f"{'resolver':<8}  {'median µs / new agent':>22}  {'min':>9}")
    for name, resolve in resolvers().items():
        per_agent_us(resolve, 1)  # warm up: compiles (or loads) the regexes
        means = per_agent_us(resolve, args.rounds)
        print(f"{name:<8}  {statistics.median(means):>22.1f}  {min(means):>9.1f}")


if __name__ == "__main__":
    main()
