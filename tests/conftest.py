"""Fixtures and hooks only (shared helpers live in ``tests/helpers.py``).

Markers (pyproject.toml): ``strategies`` picks the session strategies a test runs under,
``browser`` tests need Chromium (skipped without it, failed instead when ``CI`` or
``REQUIRE_BROWSER`` is set; ``-m "not browser"`` leaves them out), and ``needs_groups`` tests
are deselected (reported, never skipped) when the user model has no ``groups``. A
``REQUIRE_DATABASE_URL`` / ``REQUIRE_REDIS_URL`` variable makes that server mandatory.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client

from django_jwtsession import outage, revocation as revocation_module
from django_jwtsession.conf import STRATEGIES, get_settings
from tests.browser import require_browser
from tests.helpers import PASSWORD, Clock, Configure, make_user, user_model_has_groups
from tests.processes import RedisServer, redis_binary

_NO_GROUPS = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    required = [name for name in ("DATABASE_URL", "REDIS_URL") if os.environ.get(f"REQUIRE_{name}")]
    missing = [name for name in required if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(f"{', '.join(missing)} required by REQUIRE_* but not set.")


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"django settings: {django_settings.SETTINGS_MODULE} "
        f"(AUTH_USER_MODEL={django_settings.AUTH_USER_MODEL}, USE_TZ={django_settings.USE_TZ}, "
        f"database {django_settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``needs_groups`` tests when the user model has no ``groups``; expect the
    failures a settings variant lists in ``KNOWN_FAILURES`` (tests/variants/): each pattern
    maps to the exception the test fails with and why."""
    known: dict[str, tuple[type[BaseException], str]] = getattr(
        django_settings, "KNOWN_FAILURES", {}
    )
    where = django_settings.SETTINGS_MODULE
    for item in items:
        for pattern, (error, reason) in known.items():
            if _matches(item.nodeid, pattern):
                expected = pytest.mark.xfail(raises=error, strict=True, reason=f"{where}: {reason}")
                item.add_marker(expected)
    if user_model_has_groups():
        return
    deselected = [item for item in items if item.get_closest_marker("needs_groups")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("needs_groups")]
        config.stash[_NO_GROUPS] = len(deselected)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.stash.get(_NO_GROUPS, 0):
        terminalreporter.write_line(
            f"{config.stash[_NO_GROUPS]} tests marked needs_groups deselected: "
            f"{django_settings.AUTH_USER_MODEL} has no groups"
        )


def _matches(nodeid: str, pattern: str) -> bool:
    """A test id against a ``KNOWN_FAILURES`` pattern: ``*`` matches anything, and a pattern
    without parameters matches every parametrization."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, nodeid) is not None or (
        "[" not in pattern and re.fullmatch(rf"{regex}\[.*\]", nodeid) is not None
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser"):
        require_browser()  # skip (or fail, in CI) before any fixture starts a server


@pytest.fixture(autouse=True)
def _cache_is_reachable_and_clean(request: pytest.FixtureRequest) -> None:
    """Every test starts with an empty cache; a missing cache server is a failure, not a skip."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("django_db_setup")
    caches["default"].clear()  # the state mirror must not outlive the rolled-back database
    revocation_module._unmirrored.clear()  # nor a previous test's failed copies to retry
    outage.reset()  # nor an outage a previous test's cache had


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A ``redis-server`` of this test's own on a free port (skipped without the binary,
    failed instead when ``REQUIRE_REDIS_URL`` is set)."""
    server = RedisServer(redis_binary(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bob(db: None) -> Any:
    return make_user("bob", roles=("editor",), tier="pro", flags=("beta",))


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    return client


# -- settings --------------------------------------------------------------------------------------


@pytest.fixture
def configure(settings: Any) -> Configure:
    """``jwtsession_settings`` (tests/helpers.py) for the rest of the test: merge values into
    ``JWTSESSION``, undone by pytest-django's ``settings`` fixture."""

    def apply(**values: Any) -> None:
        settings.JWTSESSION = {**settings.JWTSESSION, **values}

    return apply


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The app's clock, moved forward with ``clock.advance(seconds)`` (tests/helpers.py)."""
    moved = Clock(time.time)
    monkeypatch.setattr(time, "time", moved.time)
    return moved


# -- strategies ------------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that use the ``strategy`` fixture run once per strategy, unless marked
    ``@pytest.mark.strategies("jwt")`` (what they test exists in one strategy only)."""
    if "strategy" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("strategies")
        metafunc.parametrize("strategy", marker.args if marker else STRATEGIES, indirect=True)


@pytest.fixture
def strategy(request: pytest.FixtureRequest, configure: Configure) -> str:
    """The session strategy under test (``JWTSESSION["STRATEGY"]``)."""
    value: str = getattr(request, "param", "jwt")
    configure(STRATEGY=value)
    return value


# -- counting cache calls --------------------------------------------------------------------------

_CACHE_METHODS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "get_or_set",
    "has_key",
    "incr",
    "decr",
    "set_many",
    "delete_many",
    "clear",
    "incr_version",
    "decr_version",
)


@pytest.fixture
def cache_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the calls made on the real cache backend (outermost calls only) during a test."""
    calls: list[str] = []
    depth = 0
    backend = type(caches[get_settings().cache_alias])

    def counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if depth == 0:
                calls.append(name)
            depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth -= 1

        @functools.wraps(method)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if depth == 0:
                calls.append(name)
            depth += 1
            try:
                return await method(*args, **kwargs)
            finally:
                depth -= 1

        return async_wrapper if inspect.iscoroutinefunction(method) else sync_wrapper

    for name in _CACHE_METHODS:
        for variant in (name, f"a{name}"):
            method = getattr(backend, variant, None)
            if method is not None:
                monkeypatch.setattr(backend, variant, counting(variant, method))
    return calls
