"""Switching strategies, or adopting this app, without logging anyone out (``ACCEPT_FROM``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from django_jwtsession import identity as identity_module
from django_jwtsession.backends.db_keys import SPILL_PREFIX
from django_jwtsession.revocation import revoke_all
from tests.helpers import Configure, make_user, session_token

User = get_user_model()

pytestmark = pytest.mark.django_db

COOKIE = django_settings.SESSION_COOKIE_NAME
OURS = "django_jwtsession.backends.session"
DJANGO_DB = "django.contrib.sessions.backends.db"
DJANGO_CACHED_DB = "django.contrib.sessions.backends.cached_db"
DJANGO_CACHE = "django.contrib.sessions.backends.cache"
DJANGO_SIGNED = "django.contrib.sessions.backends.signed_cookies"
SOURCES = ("jwt", "db", DJANGO_DB, DJANGO_CACHED_DB, DJANGO_CACHE, DJANGO_SIGNED)
DIRECTIONS = [
    (source, target) for source in SOURCES for target in ("jwt", "db") if source != target
]
IDS = [
    f"{source.replace('django.contrib.sessions.backends.', 'django-')}->{target}"
    for source, target in DIRECTIONS
]


Use = Callable[..., None]


@pytest.fixture
def use(settings: Any, configure: Configure) -> Use:
    """``use(kind, accept_from=())``: switch to ``kind``, one of our strategies or a Django
    session engine, taking over sessions of the ``accept_from`` kinds."""

    def apply(kind: str, accept_from: tuple[str, ...] = ()) -> None:
        if kind in ("jwt", "db"):
            settings.SESSION_ENGINE = OURS
            configure(STRATEGY=kind, ACCEPT_FROM=accept_from)
        else:
            settings.SESSION_ENGINE = kind
            configure(ACCEPT_FROM=accept_from)

    return apply


def cookie_kind(value: str) -> str:
    if value.startswith("d1."):
        return "db"
    if value.startswith("ey") and value.count(".") in (2, 4):
        return "jwt"
    return "django"


def replay(value: str) -> Client:
    client = Client()
    client.cookies[COOKIE] = value
    return client


def signed_in_as(client: Client) -> str | None:
    response = client.get("/whoami/")
    assert response.status_code == 200
    data = response.json()
    return data["username"] if data["authenticated"] else None


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob", roles=("editor",), tier="pro")


def signed_in_under(use: Use, source: str) -> tuple[Client, str]:
    use(source)
    client = Client()
    assert client.login(username="bob", password="test-password")
    assert client.get("/set/?cart=3").status_code == 200
    signed_in = client.get("/get/?_auth_user_id").json()  # (Django's user has no roles)
    assert signed_in == {"_auth_user_id": str(User.objects.get(username="bob").pk)}
    return client, client.cookies[COOKIE].value


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=IDS)
def test_switching_keeps_the_user_signed_in(
    use: Use, bob: User, source: str, target: str, django_assert_max_num_queries: Any
) -> None:
    _, old = signed_in_under(use, source)

    use(target, accept_from=(source,))
    client = replay(old)  # a new client: middleware reads SESSION_ENGINE when it starts
    response = client.get("/whoami/")
    data = response.json()
    assert (data["username"], data["roles"], data["tier"]) == ("bob", ["editor"], "pro")
    new = response.cookies[COOKIE].value  # re-issued in the new kind, on the same response
    assert cookie_kind(new) == target
    assert client.get("/get/?cart").json() == {"cart": "3"}  # the data came along
    assert session_token(client) == new  # quiet again: nothing more to re-issue
    with django_assert_max_num_queries(0 if target == "jwt" else 1):
        assert signed_in_as(client) == "bob"

    assert signed_in_as(replay(old)) is None or source == DJANGO_SIGNED
    # Django's signed cookies cannot be ended server-side: a replay is taken over again,
    # as the source engine itself would accept it, until ACCEPT_FROM is emptied.
    use(target)
    assert signed_in_as(replay(old)) is None  # the window is closed
    assert signed_in_as(client) == "bob"


@pytest.mark.parametrize("source", SOURCES)
def test_without_accept_from_an_old_cookie_is_anonymous(use: Use, bob: User, source: str) -> None:
    _, old = signed_in_under(use, source)
    for target in ("jwt", "db"):
        if target != source:
            use(target)
            response = replay(old).get("/whoami/")
            assert response.json() == {"authenticated": False}
            assert response.cookies[COOKIE].value == ""  # deleted


def _tampered(source: str, value: str) -> str:
    if source == "jwt":
        return value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    if source == "db":
        prefix, _, hint = value.split(".")
        return f"{prefix}.{'Q' * 43}.{hint}"
    if source == DJANGO_SIGNED:
        return value.replace(":", ":x", 1)
    return "a" * 32  # no such Django session


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=IDS)
def test_a_tampered_or_unknown_old_cookie_is_refused(
    use: Use, bob: User, source: str, target: str
) -> None:
    _, old = signed_in_under(use, source)
    use(target, accept_from=(source,))
    response = replay(_tampered(source, old)).get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert response.cookies[COOKIE].value == ""


@pytest.mark.parametrize("source", [DJANGO_DB, DJANGO_SIGNED])
def test_a_revocation_since_adoption_began_ends_djangos_sessions_too(
    use: Use, bob: User, source: str
) -> None:
    """Django's sessions carry no revocation epoch: they count as started before any."""
    _, old = signed_in_under(use, source)
    use("jwt", accept_from=(source,))
    revoke_all()
    assert signed_in_as(replay(old)) is None


def test_a_revoked_session_of_our_other_strategy_is_not_taken_over(use: Use, bob: User) -> None:
    from django_jwtsession.revocation import revoke_user

    _, old = signed_in_under(use, "jwt")
    revoke_user(bob)
    use("db", accept_from=("jwt",))
    assert signed_in_as(replay(old)) is None


def test_a_password_changed_since_refuses_djangos_session(use: Use, bob: User) -> None:
    _, old = signed_in_under(use, DJANGO_DB)
    bob.set_password("another-password")
    bob.save()
    use("db", accept_from=(DJANGO_DB,))
    assert signed_in_as(replay(old)) is None


def test_a_session_too_large_for_a_token_is_taken_over_all_the_same(use: Use, bob: User) -> None:
    """It spills into its record (an ``s1.`` key): the user stays signed in, data kept."""
    _, old = signed_in_under(use, DJANGO_DB)
    use(DJANGO_DB)
    big = replay(old)
    assert big.get("/set-big/?size=9000").status_code == 200
    use("jwt", accept_from=(DJANGO_DB,))
    client = replay(old)
    response = client.get("/whoami/")
    assert response.status_code == 200
    assert response.json()["username"] == "bob"
    assert session_token(client).startswith(SPILL_PREFIX)
    assert len(client.get("/get/?big").json()["big"]) == 9000
    assert signed_in_as(replay(old)) is None  # the old session was ended


class _ASecondLater:
    """``time`` as the session identity module reads it: a second ahead of the request's
    ``now`` (a second ticking over while the request runs)."""

    @staticmethod
    def time() -> float:
        return time.time() + 1


@pytest.mark.parametrize("target", ["jwt", "db"])
def test_a_second_ticking_over_during_a_takeover_loses_nothing(
    use: Use, bob: User, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session taken over from Django's engine starts at the time its claims are built:
    a later start would make the claims older than the session, refused on the next
    request (sat <= cat), with its data."""
    _, old = signed_in_under(use, DJANGO_SIGNED)
    use(target, accept_from=(DJANGO_SIGNED,))
    monkeypatch.setattr(identity_module, "time", _ASecondLater)
    client = replay(old)
    assert signed_in_as(client) == "bob"
    assert client.get("/get/?cart").json() == {"cart": "3"}
    assert signed_in_as(client) == "bob"
