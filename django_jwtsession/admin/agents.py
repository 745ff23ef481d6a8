"""User agent strings as people read them: device, operating system, browser."""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import ua_parser

UNKNOWN = "—"
CACHE_SIZE = 2048
"""User agent strings remembered per process (a changelist page shows at most a few hundred)."""


class Agent(NamedTuple):
    device: str
    os: str
    browser: str


def _named(family: str | None, *version: str | None) -> str:
    """``family`` followed by the version parts up to the first missing one."""
    if not family or family == "Other":
        return UNKNOWN
    numbers = ".".join(itertools.takewhile(bool, version))  # type: ignore[arg-type]
    return f"{family} {numbers}" if numbers else family


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse(user_agent: str) -> Agent:
    """Device, OS and browser of a user agent string (``ua-parser``); ``—`` when unknown."""
    if not user_agent:
        return Agent(UNKNOWN, UNKNOWN, UNKNOWN)
    result = ua_parser.parse(user_agent)
    device, os, browser = result.device, result.os, result.user_agent
    return Agent(
        device=_named(device.family) if device else UNKNOWN,
        os=_named(os.family, os.major, os.minor) if os else UNKNOWN,
        browser=_named(browser.family, browser.major) if browser else UNKNOWN,
    )
