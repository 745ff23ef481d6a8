"""Shared fixtures. In CI (``CI`` set), PostgreSQL and Redis must really be there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.test import Client

from demo.models import Subscription

PASSWORD = "test-password"


def pytest_configure(config: pytest.Config) -> None:
    required = [name for name in ("DATABASE_URL", "REDIS_URL") if os.environ.get(f"REQUIRE_{name}")]
    missing = [name for name in required if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(f"{', '.join(missing)} required by REQUIRE_* but not set.")


@pytest.fixture(autouse=True)
def _cache_is_reachable_and_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with an empty cache; a missing cache server is a failure, not a skip."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("django_db_setup")
    if os.environ.get("REDIS_URL"):
        caches["default"].clear()
    yield


def make_user(
    username: str = "bob",
    *,
    roles: tuple[str, ...] = (),
    tier: str | None = None,
    flags: tuple[str, ...] = (),
    **fields: Any,
) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com", **fields)
    if roles:
        user.groups.set([Group.objects.get_or_create(name=role)[0] for role in roles])
    if tier is not None:
        Subscription.objects.create(user=user, tier=tier, flags=list(flags))
    return user


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob", roles=("editor",), tier="pro", flags=("beta",))


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    return client
