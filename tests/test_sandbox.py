"""The sandbox's contract (shared/SANDBOX.md): ``seed_demo``, the login page and ``/whoami/``."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client, override_settings

from demo.models import Subscription

SANDBOX_TEMPLATES = Path(__file__).resolve().parent.parent / "sandbox_project" / "templates"
DEFAULT_PASSWORD = "sandbox-password"
CONTRACT = {
    "alice": {"roles": ["admin"], "staff": True, "superuser": True, "tier": "free", "flags": []},
    "bob": {
        "roles": ["editor"],
        "staff": False,
        "superuser": False,
        "tier": "pro",
        "flags": ["beta"],
    },
    "carol": {"roles": [], "staff": False, "superuser": False, "tier": "free", "flags": []},
}
WHOAMI_KEYS = {"authenticated", "id", "username", "roles", "tier", "flags", "strategy"}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    """Everything seed_demo is responsible for, in comparable form."""
    return {
        user.username: {
            "pk": user.pk,
            "roles": sorted(user.groups.values_list("name", flat=True)),
            "staff": user.is_staff,
            "superuser": user.is_superuser,
            "active": user.is_active,
            "tier": user.subscription.tier,
            "flags": list(user.subscription.flags),
        }
        for user in User.objects.select_related("subscription").order_by("username")
    }


@pytest.fixture
def sandbox_urls() -> Iterator[None]:
    templates = [{**settings.TEMPLATES[0], "DIRS": [SANDBOX_TEMPLATES]}]
    with override_settings(ROOT_URLCONF="sandbox.urls", STRATEGY="jwt", TEMPLATES=templates):
        yield


@pytest.mark.django_db
def test_seed_demo_creates_the_contract_users() -> None:
    output = seed()
    assert output.split() == ["created", "alice", "created", "bob", "created", "carol"]
    state = snapshot()
    assert sorted(state) == ["alice", "bob", "carol"]
    for username, spec in CONTRACT.items():
        assert {key: state[username][key] for key in spec} == spec, username
        assert state[username]["active"] is True
        assert User.objects.get(username=username).check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_is_idempotent() -> None:
    seed()
    first = snapshot()
    counts = (User.objects.count(), Group.objects.count(), Subscription.objects.count())
    output = seed()
    assert output.split() == ["updated", "alice", "updated", "bob", "updated", "carol"]
    assert snapshot() == first
    assert (User.objects.count(), Group.objects.count(), Subscription.objects.count()) == counts


@pytest.mark.django_db
def test_seed_demo_resets_changed_users() -> None:
    seed()
    bob = User.objects.get(username="bob")
    bob.groups.clear()
    bob.is_staff = True
    bob.set_password("something-else")
    bob.save()
    Subscription.objects.filter(user=bob).update(tier="enterprise", flags=[])
    seed()
    assert {key: snapshot()["bob"][key] for key in CONTRACT["bob"]} == CONTRACT["bob"]
    assert User.objects.get(username="bob").check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_password_option() -> None:
    seed("--password", "another-password")
    for username in CONTRACT:
        user = User.objects.get(username=username)
        assert user.check_password("another-password")
        assert not user.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_refuses_an_empty_password() -> None:
    with pytest.raises(SystemExit):
        call_command("seed_demo", "--password", "", stdout=StringIO(), stderr=StringIO())
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
def test_whoami_anonymous() -> None:
    response = Client().get("/whoami/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= WHOAMI_KEYS
    assert body["authenticated"] is False
    assert body["strategy"] == "jwt"


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize("username", sorted(CONTRACT))
def test_login_page_then_whoami_from_claims(username: str, django_assert_num_queries: Any) -> None:
    seed()
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    with django_assert_num_queries(0):
        body = client.get("/whoami/").json()
    spec = CONTRACT[username]
    assert set(body) >= WHOAMI_KEYS
    assert body["authenticated"] is True
    assert body["id"] == User.objects.get(username=username).pk
    assert body["username"] == username
    assert body["roles"] == spec["roles"]
    assert body["tier"] == spec["tier"]
    assert body["flags"] == spec["flags"]
    assert body["strategy"] == "jwt"
    assert (body["is_staff"], body["is_superuser"]) == (spec["staff"], spec["superuser"])


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
def test_wrong_password_stays_anonymous() -> None:
    seed()
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/whoami/").json()["authenticated"] is False


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
def test_logout_is_a_post() -> None:
    seed()
    client = Client()
    client.post("/accounts/login/", {"username": "carol", "password": DEFAULT_PASSWORD})
    assert client.get("/whoami/").json()["authenticated"] is True
    client.post("/accounts/logout/")
    assert client.get("/whoami/").json()["authenticated"] is False


@pytest.mark.django_db
def test_run_sandbox_no_serve_sets_up_and_seeds() -> None:
    out = StringIO()
    call_command("run_sandbox", "--no-serve", stdout=out)
    assert "Sandbox ready" in out.getvalue()
    assert sorted(snapshot()) == ["alice", "bob", "carol"]
