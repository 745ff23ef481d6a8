"""The sandbox's contract (shared/SANDBOX.md): ``seed_demo``, the login page, ``/whoami/``;
also its staff page and admin, whose changes show on the user's next request."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client, override_settings

from demo.models import TIERS, Subscription
from django_jwtsession import metrics
from django_jwtsession.conf import get_settings
from django_jwtsession.cookies import CHUNK_SIZE
from django_jwtsession.keyspace import mark_key, session_hash
from django_jwtsession.models import SessionRecord, StateEntry
from django_jwtsession.revocation import revoke_session
from django_jwtsession.timestamps import iso
from sandbox.asgi import application as asgi_application
from sandbox.settings import JWTSESSION as SANDBOX_JWTSESSION
from tests.helpers import Clock, Configure, client_session_id, session_token, token_payload
from tests.test_prometheus import UP, scrape, value

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


class Element:
    """An element that carries a ``data-testid``: its attributes and text."""

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.parts = tag, attrs, []

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


class Hooks(HTMLParser):
    """The elements of a page that carry a ``data-testid`` (the browser tests' hooks)."""

    VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self, response: Any, status: int = 200) -> None:
        super().__init__()
        self.found: list[tuple[str, Element]] = []
        self._open: list[tuple[str, Element | None]] = []
        assert response.status_code == status, response.status_code
        self.feed(response.content.decode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        element = Element(tag, values) if "data-testid" in values else None
        if element is not None:
            self.found.append((values["data-testid"], element))
        if tag not in self.VOID:
            self._open.append((tag, element))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, element in self._open:
            if element is not None:
                element.parts.append(data)

    def all(self, testid: str) -> list[Element]:
        return [element for name, element in self.found if name == testid]

    def one(self, testid: str) -> Element:
        found = self.all(testid)
        assert len(found) == 1, f"{len(found)} elements with data-testid={testid!r}"
        return found[0]

    def text(self, testid: str) -> str:
        return self.one(testid).text

    def has(self, testid: str) -> bool:
        return bool(self.all(testid))


@pytest.fixture
def sandbox_urls(strategy: str) -> Iterator[None]:
    """The sandbox's URLs, templates and ``JWTSESSION``, on each strategy in turn (as
    ``JWTSESSION_STRATEGY`` picks it). The pushed mirror as the test settings have it (off
    unless asked for): its listener thread would otherwise decide what a counter reads."""
    templates = [{**settings.TEMPLATES[0], "DIRS": [SANDBOX_TEMPLATES]}]
    other = "db" if strategy == "jwt" else "jwt"
    jwtsession = {**SANDBOX_JWTSESSION, "STRATEGY": strategy, "ACCEPT_FROM": [other]}
    jwtsession["MIRROR"] = settings.JWTSESSION["MIRROR"]
    with override_settings(
        ROOT_URLCONF="sandbox.urls",
        STRATEGY=strategy,
        TEMPLATES=templates,
        JWTSESSION=jwtsession,
    ):
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
    assert output.split() == ["unchanged", "alice", "unchanged", "bob", "unchanged", "carol"]
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
    assert "updated bob (is_staff, password, roles, subscription)" in seed()
    assert {key: snapshot()["bob"][key] for key in CONTRACT["bob"]} == CONTRACT["bob"]
    assert User.objects.get(username="bob").check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
def test_seeding_again_keeps_everyone_signed_in(
    strategy: str, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run_sandbox`` seeds at every start: that must end no session, revoke nothing (the
    statistics page shows no revocation nobody made) and mark nobody."""
    seed()
    clients = {}
    for username in CONTRACT:
        clients[username] = Client()
        assert clients[username].login(username=username, password=DEFAULT_PASSWORD)
    before = {name: whoami(client) for name, client in clients.items()}
    entries = dict(StateEntry.objects.values_list("key", "version"))
    counted = counted_here(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        seed()
        seed()
    for name, client in clients.items():
        assert whoami(client) == before[name], name
    assert dict(StateEntry.objects.values_list("key", "version")) == entries
    # With JWTSESSION_TEST_MIRROR=1, the pushed mirror serves them once its listener is up.
    assert counted.pop("mirror.hits", 3) == 3
    assert counted == {"decode.ok": 3, "state.hit": 3}


def counted_here(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """What this thread counts from now on (the statistics page's counters), apart from
    any other thread's (a server thread another test left serving counts into the same
    process-wide buffer)."""
    here, counted, count = threading.get_ident(), Counter[str](), metrics.count

    def counting(name: str, amount: int = 1, **kwargs: Any) -> None:
        if threading.get_ident() == here:
            counted[name] += amount
        count(name, amount, **kwargs)

    monkeypatch.setattr(metrics, "count", counting)
    return counted


@pytest.mark.django_db
def test_seed_demo_is_quiet_at_verbosity_0() -> None:
    assert seed("--verbosity", "0") == ""
    assert sorted(snapshot()) == ["alice", "bob", "carol"]


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
def test_whoami_anonymous(strategy: str) -> None:
    response = Client().get("/whoami/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= WHOAMI_KEYS
    assert body["authenticated"] is False
    assert body["strategy"] == strategy


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize("username", sorted(CONTRACT))
def test_login_page_then_whoami_from_claims(
    username: str, strategy: str, django_assert_num_queries: Any
) -> None:
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
    assert body["strategy"] == strategy
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


@pytest.mark.django_db(transaction=True)  # Channels closes connections left in a transaction
@pytest.mark.usefixtures("sandbox_urls")
def test_the_websocket_says_who_is_connected_until_the_session_is_revoked() -> None:
    """``sandbox/asgi.py``'s ``/ws/whoami/``: the ``/whoami/`` JSON from the same cookie."""
    seed()
    client = Client()
    client.post("/accounts/login/", {"username": "bob", "password": DEFAULT_PASSWORD})
    over_http = client.get("/whoami/").json()
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    headers = [(b"cookie", cookies.encode()), (b"origin", b"http://127.0.0.1:8000")]

    async def scenario() -> None:
        socket = WebsocketCommunicator(asgi_application, "/ws/whoami/", headers=headers)
        assert (await socket.connect())[0]
        assert await socket.receive_json_from() == over_http
        await socket.disconnect()
        await sync_to_async(revoke_session)(session_hash(client_session_id(client)))
        again = WebsocketCommunicator(asgi_application, "/ws/whoami/", headers=headers)
        assert (await again.connect())[0]
        assert (await again.receive_json_from())["authenticated"] is False
        await again.disconnect()
        stranger = [(b"cookie", cookies.encode()), (b"origin", b"https://elsewhere.example")]
        refused = WebsocketCommunicator(asgi_application, "/ws/whoami/", headers=stranger)
        assert not (await refused.connect())[0]  # another site's page may not connect

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_run_sandbox_no_serve_sets_up_and_seeds() -> None:
    out = StringIO()
    call_command("run_sandbox", "--no-serve", stdout=out)
    assert "Sandbox ready" in out.getvalue()
    assert sorted(snapshot()) == ["alice", "bob", "carol"]


# -- the staff page and the admin: a change shows on the user's next request -----------------


def signed_in(username: str, **client_options: Any) -> Client:
    """A client signed in through the login page, as a browser is."""
    client = Client(**client_options)
    response = client.post("/accounts/login/", {"username": username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, username
    return client


def whoami(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/whoami/").json()
    return body


def access_form(user: User, **changes: Any) -> dict[str, Any]:
    """The staff form's POST data: the user's current values with ``changes`` applied."""
    values: dict[str, Any] = {
        "roles": sorted(user.groups.values_list("name", flat=True)),
        "tier": user.subscription.tier,
        "flags": list(user.subscription.flags),
        "is_active": user.is_active,
        **changes,
    }
    data = {
        "roles": [Group.objects.get_or_create(name=name)[0].pk for name in values["roles"]],
        "tier": values["tier"],
        "flags": ", ".join(values["flags"]),
    }
    if values["is_active"]:
        data["is_active"] = "on"
    return data


def mark_version(user: User) -> int:
    entry = StateEntry.objects.filter(key=mark_key(user.pk)).first()
    return entry.version if entry else 0


def page_messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def seeded(db: None) -> dict[str, User]:
    seed()
    return {user.username: user for user in User.objects.all()}


def test_sandbox_settings_mark_the_user_when_a_subscription_changes() -> None:
    assert SANDBOX_JWTSESSION["MARK_MODELS"] == {"demo.Subscription": "user"}
    assert SANDBOX_JWTSESSION["TIER_SOURCE"] == "subscription.tier"


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/staff/users/"),
        ("get", "/staff/users/{bob}/"),
        ("post", "/staff/users/{bob}/"),
        ("post", "/staff/users/{bob}/refresh/"),
        ("post", "/staff/users/{bob}/logout/"),
    ],
)
def test_staff_pages_send_anonymous_users_to_the_login_page_and_refuse_non_staff(
    seeded: dict[str, User], method: str, url: str
) -> None:
    url = url.format(bob=seeded["bob"].pk)
    data = access_form(seeded["bob"], tier="enterprise") if method == "post" else None
    response = getattr(Client(), method)(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"
    bob = signed_in("bob")
    for client in (bob, signed_in("carol")):  # signed in: a 403 that says why, no login form
        reason = Hooks(getattr(client, method)(url, data), status=403)
        assert reason.text("forbidden-reason") == "This page needs staff status."
        assert not reason.has("login-form")
    assert whoami(bob)["tier"] == "pro"  # nothing changed, nobody logged out
    assert whoami(bob)["authenticated"] is True


@pytest.mark.usefixtures("sandbox_urls")
def test_staff_without_user_permissions_is_forbidden(seeded: dict[str, User]) -> None:
    User.objects.create_user("dave", password=DEFAULT_PASSWORD, is_staff=True)
    dave = signed_in("dave")
    bob = seeded["bob"].pk
    assert dave.get("/staff/users/").status_code == 403
    assert dave.get(f"/staff/users/{bob}/").status_code == 403
    assert dave.post(f"/staff/users/{bob}/logout/").status_code == 403


@pytest.mark.usefixtures("sandbox_urls")
def test_staff_list_shows_roles_tier_and_flags(seeded: dict[str, User]) -> None:
    User.objects.create_user("dave", password=DEFAULT_PASSWORD)  # no subscription, no group
    response = signed_in("alice").get("/staff/users/")
    assert response.status_code == 200
    rows = {
        user.username: (
            sorted(group.name for group in user.groups.all()),
            getattr(getattr(user, "subscription", None), "tier", None),
        )
        for user in response.context["page"]
    }
    assert rows == {
        "alice": (["admin"], "free"),
        "bob": (["editor"], "pro"),
        "carol": ([], "free"),
        "dave": ([], None),
    }
    html = response.content.decode()
    for username in rows:
        assert f'<a href="/staff/users/{User.objects.get(username=username).pk}/">' in html
    assert "beta" in html


@pytest.mark.usefixtures("sandbox_urls")
def test_home_and_nav_link_the_staff_page_for_staff_only(seeded: dict[str, User]) -> None:
    assert 'href="/staff/users/"' in signed_in("alice").get("/").content.decode()
    assert 'href="/staff/users/"' not in signed_in("bob").get("/").content.decode()


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"roles": ["admin", "editor"]}, {"roles": ["admin", "editor"]}),
        ({"roles": []}, {"roles": []}),
        ({"tier": "enterprise"}, {"tier": "enterprise"}),
        ({"flags": ["early-access", "beta"]}, {"flags": ["beta", "early-access"]}),
        (
            {"roles": ["admin"], "tier": "free", "flags": []},
            {"roles": ["admin"], "tier": "free", "flags": []},
        ),
    ],
)
def test_a_change_on_the_staff_page_shows_on_the_users_next_request(
    seeded: dict[str, User],
    strategy: str,
    changes: dict[str, Any],
    expected: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    before = whoami(bob)
    assert (before["roles"], before["tier"], before["flags"]) == (["editor"], "pro", ["beta"])
    url = f"/staff/users/{target.pk}/"
    assert staff.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # as at the end of a real request
        response = staff.post(url, access_form(target, **changes))
    assert response.status_code == 302
    assert response["Location"] == url
    assert page_messages(staff.get(url))[0].startswith("Saved bob's ")
    after = whoami(bob)  # the very next request, no new login
    assert {key: after[key] for key in expected} == expected
    assert after["authenticated"] is True
    if strategy == "db":  # its cache entry was dropped when the claims changed: one row read
        assert whoami(bob) == after
    with django_assert_num_queries(0):  # then back to claims from the cookie (or the cache)
        assert whoami(bob) == after


@pytest.mark.usefixtures("sandbox_urls")
def test_saving_without_a_change_marks_nobody(seeded: dict[str, User]) -> None:
    staff, target = signed_in("alice"), seeded["bob"]
    before = mark_version(target)
    response = staff.post(f"/staff/users/{target.pk}/", access_form(target), follow=True)
    assert page_messages(response) == ["Nothing to change for bob."]
    assert mark_version(target) == before


@pytest.mark.usefixtures("sandbox_urls")
def test_deactivating_on_the_staff_page_ends_the_users_sessions(seeded: dict[str, User]) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    staff.post(f"/staff/users/{target.pk}/", access_form(target, is_active=False))
    assert whoami(bob)["authenticated"] is False
    assert User.objects.get(pk=target.pk).is_active is False


@pytest.mark.usefixtures("sandbox_urls")
def test_a_ban_on_the_staff_page_ends_sessions_and_refuses_sign_in(
    seeded: dict[str, User],
) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    assert Hooks(staff.get(f"/staff/users/{target.pk}/")).has("staff-ban-form")
    response = staff.post(
        f"/staff/users/{target.pk}/ban/", {"duration": "1h", "reason": "spam"}, follow=True
    )
    assert page_messages(response)[0].startswith("bob is banned until ")
    assert Hooks(response).has("staff-banned")
    assert whoami(bob)["authenticated"] is False  # its next request
    refused = Client().post("/accounts/login/", {"username": "bob", "password": DEFAULT_PASSWORD})
    assert refused.status_code == 200  # the login form again, saying why
    assert "This account is suspended until" in refused.content.decode()
    response = staff.post(f"/staff/users/{target.pk}/unban/", follow=True)
    assert page_messages(response) == ["bob may sign in again."]
    assert whoami(signed_in("bob"))["authenticated"] is True
    self_ban = staff.post(
        f"/staff/users/{seeded['alice'].pk}/ban/", {"duration": "1h"}, follow=True
    )
    assert page_messages(self_ban) == ["You cannot ban yourself."]


@pytest.mark.usefixtures("sandbox_urls")
def test_log_out_everywhere_ends_every_session_of_that_user(seeded: dict[str, User]) -> None:
    staff, carol = signed_in("alice"), signed_in("carol")
    laptop, phone = signed_in("bob"), signed_in("bob")
    bob = seeded["bob"].pk
    assert staff.get(f"/staff/users/{bob}/logout/").status_code == 405  # a POST only
    response = staff.post(f"/staff/users/{bob}/logout/", follow=True)
    assert page_messages(response) == ["bob is logged out everywhere."]
    assert whoami(laptop)["authenticated"] is False
    assert whoami(phone)["authenticated"] is False
    assert whoami(carol)["authenticated"] is True
    assert whoami(staff)["authenticated"] is True


@pytest.mark.usefixtures("sandbox_urls")
def test_log_out_everywhere_on_yourself_keeps_this_session(seeded: dict[str, User]) -> None:
    here, elsewhere = signed_in("alice"), signed_in("alice")
    response = here.post(f"/staff/users/{seeded['alice'].pk}/logout/", follow=True)
    assert page_messages(response) == ["Your other sessions are logged out."]
    assert whoami(here)["authenticated"] is True
    assert whoami(elsewhere)["authenticated"] is False


@pytest.mark.usefixtures("sandbox_urls")
def test_force_claims_refresh_picks_up_a_change_that_sent_no_signal(
    seeded: dict[str, User],
) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    Subscription.objects.filter(user=target).update(tier="enterprise")  # no signal, no mark
    assert whoami(bob)["tier"] == "pro"
    response = staff.post(f"/staff/users/{target.pk}/refresh/")
    assert response.status_code == 302
    assert whoami(bob)["tier"] == "enterprise"


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tier": "platinum"}, "tier"),
        ({"tier": ""}, "tier"),
        ({"flags": ["beta", "not a flag!"]}, "flags"),
        ({"flags": [f"f{n}" for n in range(21)]}, "flags"),
        ({"roles": "not-a-group-id"}, "roles"),
    ],
)
def test_invalid_input_shows_the_form_with_errors(
    seeded: dict[str, User], changes: dict[str, Any], field: str
) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    before = mark_version(target)
    data = access_form(target, **{key: value for key, value in changes.items() if key != "roles"})
    if "roles" in changes:
        data["roles"] = [changes["roles"]]
    response = staff.post(f"/staff/users/{target.pk}/", data)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert whoami(bob)["tier"] == "pro"
    assert mark_version(target) == before


@pytest.mark.usefixtures("sandbox_urls")
def test_staff_cannot_deactivate_themselves_here(seeded: dict[str, User]) -> None:
    staff, alice = signed_in("alice"), seeded["alice"]
    response = staff.post(f"/staff/users/{alice.pk}/", access_form(alice, is_active=False))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["is_active"]
    assert whoami(staff)["authenticated"] is True


@pytest.mark.usefixtures("sandbox_urls")
def test_unknown_user_is_a_404(seeded: dict[str, User]) -> None:
    missing = max(user.pk for user in seeded.values()) + 1
    staff = signed_in("alice")
    assert staff.get(f"/staff/users/{missing}/").status_code == 404
    assert staff.post(f"/staff/users/{missing}/logout/").status_code == 404


@pytest.mark.usefixtures("sandbox_urls")
def test_staff_page_posts_need_the_csrf_token(seeded: dict[str, User]) -> None:
    staff = Client(enforce_csrf_checks=True)
    staff.get("/accounts/login/")
    token = staff.cookies["csrftoken"].value
    credentials = {"username": "alice", "password": DEFAULT_PASSWORD}
    assert (
        staff.post("/accounts/login/", {**credentials, "csrfmiddlewaretoken": token}).status_code
        == 302
    )
    target, bob = seeded["bob"], signed_in("bob")
    url = f"/staff/users/{target.pk}/"
    assert staff.post(url, access_form(target, tier="enterprise")).status_code == 403
    assert staff.post(f"{url}logout/").status_code == 403
    assert whoami(bob)["tier"] == "pro"
    token = staff.cookies["csrftoken"].value
    data = {**access_form(target, tier="enterprise"), "csrfmiddlewaretoken": token}
    assert staff.post(url, data).status_code == 302
    assert whoami(bob)["tier"] == "enterprise"


@pytest.mark.usefixtures("sandbox_urls")
def test_a_subscription_changed_in_the_admin_shows_on_the_users_next_request(
    seeded: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    assert whoami(bob)["tier"] == "pro"
    url = f"/admin/demo/subscription/{target.subscription.pk}/change/"
    assert staff.get(url).status_code == 200
    data = {"user": target.pk, "tier": "enterprise", "flags": '["beta", "early-access"]'}
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(url, data).status_code == 302
    after = whoami(bob)
    assert (after["tier"], after["flags"]) == ("enterprise", ["beta", "early-access"])


@pytest.mark.usefixtures("sandbox_urls")
def test_groups_changed_in_the_user_admin_show_on_the_users_next_request(
    seeded: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    staff, bob, target = signed_in("alice"), signed_in("bob"), seeded["bob"]
    target.refresh_from_db()
    assert whoami(bob)["roles"] == ["editor"]
    url = f"/admin/auth/user/{target.pk}/change/"
    assert staff.get(url).status_code == 200
    data = {
        "username": "bob",
        "first_name": "",
        "last_name": "",
        "email": target.email,
        "is_active": "on",
        "groups": [Group.objects.get(name="admin").pk, Group.objects.get(name="editor").pk],
        "user_permissions": [],
        "last_login_0": target.last_login.strftime("%Y-%m-%d") if target.last_login else "",
        "last_login_1": target.last_login.strftime("%H:%M:%S") if target.last_login else "",
        "date_joined_0": target.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": target.date_joined.strftime("%H:%M:%S"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert whoami(bob)["roles"] == ["admin", "editor"]


# -- the guarded pages: a role, a tier and a flag -----------------------------------------------

GUARDED = {"/guarded/admin/": {"alice"}, "/guarded/pro/": {"bob"}, "/guarded/beta/": {"bob"}}


def test_sandbox_settings_order_the_tiers_and_roles() -> None:
    assert SANDBOX_JWTSESSION["TIER_ORDER"] == list(TIERS) == list(Subscription.Tier.values)
    assert SANDBOX_JWTSESSION["ROLE_HIERARCHY"] == {"admin": ["editor"]}


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize("url", sorted(GUARDED))
def test_guarded_pages_send_anonymous_users_to_the_login_page(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"
    assert Client().get(url, HTTP_ACCEPT="application/json").status_code == 401


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/guarded/admin/", "This page needs the role admin."),
        ("/guarded/pro/", "This page needs the tier pro or higher."),
        ("/guarded/beta/", "This page needs the flag beta."),
    ],
)
def test_the_403_page_names_the_missing_role_tier_or_flag(
    seeded: dict[str, User], url: str, reason: str
) -> None:
    page = Hooks(signed_in("carol").get(url), status=403)
    assert page.text("forbidden-reason") == reason
    assert page.text("current-user") == "carol"


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox_urls")
def test_the_login_page_says_why_it_was_reached() -> None:
    plain = Hooks(Client().get("/accounts/login/"))
    assert not plain.has("login-hint")
    redirected = Client().get("/guarded/pro/", follow=True)
    hint = Hooks(redirected).text("login-hint")
    assert hint == "/guarded/pro/ is for signed-in users: log in to continue there."


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize("url", sorted(GUARDED))
def test_guarded_pages_let_in_only_who_has_the_claim(seeded: dict[str, User], url: str) -> None:
    for username in CONTRACT:
        response = signed_in(username).get(url)
        if username in GUARDED[url]:
            assert response.status_code == 200, username
            assert f"and {username} has it" in response.content.decode()
        else:
            assert response.status_code == 403, username


@pytest.mark.usefixtures("sandbox_urls")
def test_tier_and_flag_pages_cost_no_query(
    seeded: dict[str, User], django_assert_num_queries: Any
) -> None:
    bob, carol = signed_in("bob"), signed_in("carol")
    whoami(bob), whoami(carol)
    with django_assert_num_queries(0):
        assert bob.get("/guarded/pro/").status_code == 200
        assert bob.get("/guarded/beta/").status_code == 200
        assert carol.get("/guarded/pro/").status_code == 403
        assert carol.get("/guarded/beta/").status_code == 403


@pytest.mark.usefixtures("sandbox_urls")
def test_enterprise_opens_the_pro_page(seeded: dict[str, User]) -> None:
    Subscription.objects.filter(user=seeded["carol"]).update(tier="enterprise")
    assert signed_in("carol").get("/guarded/pro/").status_code == 200


@pytest.mark.usefixtures("sandbox_urls")
def test_admin_page_asks_the_database(seeded: dict[str, User]) -> None:
    bob = signed_in("bob")
    assert bob.get("/guarded/admin/").status_code == 403
    admin = Group.objects.get(name="admin")
    User.groups.through.objects.create(user=seeded["bob"], group=admin)  # no signal, no mark
    assert whoami(bob)["roles"] == ["editor"]  # the session does not know yet
    assert bob.get("/guarded/admin/").status_code == 200  # the database does
    assert whoami(bob)["roles"] == ["admin", "editor"]  # and the session was refreshed


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("alice", {"/guarded/admin/": "yes", "/guarded/pro/": "no", "/guarded/beta/": "no"}),
        ("bob", {"/guarded/admin/": "no", "/guarded/pro/": "yes", "/guarded/beta/": "yes"}),
        ("carol", {"/guarded/admin/": "no", "/guarded/pro/": "no", "/guarded/beta/": "no"}),
    ],
)
def test_home_lists_the_guarded_pages_you_may_open(
    seeded: dict[str, User], username: str, expected: dict[str, str]
) -> None:
    page = Hooks(signed_in(username).get("/"))
    hints = {}
    for name in ("admin", "pro", "beta"):
        link = page.one(f"guarded-link-{name}")
        allowed = page.text(f"guarded-hint-{name}") == "allowed"
        assert link.attrs["data-allowed"] == ("true" if allowed else "false")
        hints[link.attrs["href"]] = "yes" if allowed else "no"
    assert hints == expected
    assert "/guarded/" not in Client().get("/").content.decode()


# -- the REST framework API under /api/ ---------------------------------------------------


@pytest.mark.usefixtures("sandbox_urls")
def test_the_api_is_mounted_under_api(seeded: dict[str, User]) -> None:
    response = Client().post(
        "/api/session/",
        {"username": "bob", "password": DEFAULT_PASSWORD, "token": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    claims = Client().get("/api/session/", headers=headers).json()["claims"]
    assert (claims["username"], claims["roles"], claims["tier"]) == ("bob", ["editor"], "pro")
    sessions = signed_in("bob").get("/api/sessions/").json()
    assert sorted(row["current"] for row in sessions) == [False, True]
    assert Client().get("/api/.well-known/jwks.json").status_code == 404  # HMAC keys


# -- the tour: who am I, refresh my session, my sessions ------------------------------------------

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def page(client: Client, url: str = "/") -> Hooks:
    return Hooks(client.get(url))


def session_ids(client: Client) -> list[str]:
    """The ``data-session-id`` of every row of the client's "my sessions" page."""
    return [row.attrs["data-session-id"] for row in page(client, "/sessions/").all("session-row")]


@pytest.mark.usefixtures("sandbox_urls")
def test_home_shows_the_claims_and_this_session(
    seeded: dict[str, User], strategy: str, django_assert_num_queries: Any
) -> None:
    bob = signed_in("bob")
    me = whoami(bob)
    with django_assert_num_queries(0):  # who am I, the hints and the session: all from claims
        home = page(bob)
    fields = ("username", "id", "roles", "tier", "flags", "is-staff", "is-superuser")
    assert {name: home.text(f"whoami-{name}") for name in fields} == {
        "username": "bob",
        "id": str(seeded["bob"].pk),
        "roles": "editor",
        "tier": "pro",
        "flags": "beta",
        "is-staff": "no",
        "is-superuser": "no",
    }
    assert home.text("whoami-strategy") == strategy
    assert home.one("strategy").attrs["data-strategy"] == strategy
    token = session_token(bob)
    assert home.text("whoami-token-bytes") == str(len(token))
    assert home.text("whoami-cookies") == "1"
    facts = home.text("session-facts")
    if strategy == "db":
        assert token.startswith("d1.")
        assert "stored server-side" in facts
    else:
        assert token.startswith("ey")
        assert "the cookie is the session" in facts
    sid = session_hash(client_session_id(bob))
    assert home.text("whoami-session-id") == me["session_id"] == sid
    claims_at = int(home.one("whoami-claims-at").attrs["data-unix"])
    assert iso(claims_at) == me["claims_at"]  # ISO 8601, as the REST API gives it
    due = int(home.one("whoami-refresh-due").attrs["data-unix"])
    assert due == claims_at + get_settings().claims_ttl
    assert int(home.one("whoami-claims-age").attrs["data-seconds"]) >= 0
    started = int(home.one("whoami-session-started").attrs["data-unix"])
    expires = int(home.one("whoami-session-expires").attrs["data-unix"])
    assert started <= claims_at < expires
    record = SessionRecord.objects.get(session_hash=sid)
    assert started == int(record.created.timestamp())
    assert home.has("refresh-button")
    assert not home.has("staff-links")


@pytest.mark.usefixtures("sandbox_urls")
def test_home_counts_every_chunk_of_a_large_token(seeded: dict[str, User], strategy: str) -> None:
    bob = signed_in("bob")
    store = bob.session  # the test client's own copy of the session
    store["notes"] = "x" * 4000
    store.save()
    token, name = store.session_key, settings.SESSION_COOKIE_NAME
    if strategy == "jwt":  # sent in two cookies, as the middleware writes it
        assert len(token) > CHUNK_SIZE
        bob.cookies[name], bob.cookies[f"{name}.1"] = token[:CHUNK_SIZE], token[CHUNK_SIZE:]
    else:  # the key only: the 4000 bytes are server-side
        assert len(token) < 100
        bob.cookies[name] = token
    home = page(bob)
    assert home.text("whoami-token-bytes") == str(len(token))
    assert home.text("whoami-cookies") == ("2" if strategy == "jwt" else "1")


@pytest.mark.usefixtures("sandbox_urls")
def test_home_when_anonymous(strategy: str) -> None:
    home = page(Client())
    assert home.has("whoami-anonymous")
    assert not home.has("whoami")
    assert not home.has("refresh-button")
    assert not home.has("nav-sessions")
    assert home.has("nav-login")
    assert home.one("strategy").attrs["data-strategy"] == strategy


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize(
    ("username", "url"),
    [
        (None, "/accounts/login/"),
        ("bob", "/"),
        ("bob", "/sessions/"),
        ("bob", "/guarded/pro/"),
        ("alice", "/guarded/admin/"),
        ("alice", "/staff/users/"),
        ("alice", "/staff/users/{bob}/"),
    ],
)
def test_every_page_shows_the_strategy(
    seeded: dict[str, User], strategy: str, username: str | None, url: str
) -> None:
    client = signed_in(username) if username else Client()
    shown = page(client, url.format(bob=seeded["bob"].pk))
    assert shown.one("strategy").attrs["data-strategy"] == strategy
    assert shown.text("strategy") == f"strategy: {strategy}"


@pytest.mark.usefixtures("sandbox_urls")
def test_home_links_the_staff_pages_for_staff(seeded: dict[str, User]) -> None:
    alice = signed_in("alice")
    home = page(alice)
    links = {name: home.one(name).attrs["href"] for name in STAFF_LINKS}
    assert links == STAFF_LINKS
    for url in links.values():
        assert alice.get(url).status_code == 200, url
    bob = page(signed_in("bob"))
    assert not any(bob.has(name) for name in STAFF_LINKS)
    assert not bob.has("nav-metrics")


STAFF_LINKS = {
    "staff-users-link": "/staff/users/",
    "admin-sessions-link": "/admin/django_jwtsession/sessionrecord/",
    "metrics-link": "/admin/django_jwtsession/sessionrecord/stats/",
}


@pytest.mark.usefixtures("sandbox_urls")
def test_the_login_form_lands_on_home_or_next(seeded: dict[str, User]) -> None:
    login = page(Client(), "/accounts/login/")
    assert login.has("login-submit")
    form = {"username": "bob", "password": DEFAULT_PASSWORD}
    assert Client().post("/accounts/login/", {**form, "next": "/"})["Location"] == "/"
    html = Client().get("/accounts/login/?next=/guarded/pro/").content.decode()
    assert 'name="next" value="/guarded/pro/"' in html


# -- the clocks: /guarded/fresh/, remember me, the idle timeout -----------------------------


@pytest.mark.usefixtures("sandbox_urls")
def test_the_fresh_page_lets_in_a_recent_sign_in_with_no_query(
    seeded: dict[str, User], django_assert_num_queries: Any
) -> None:
    bob = signed_in("bob")
    whoami(bob)
    with django_assert_num_queries(0):
        response = bob.get("/guarded/fresh/")
    assert response.status_code == 200
    assert "a sign-in within the last 5 minutes, and bob has it" in response.content.decode()
    anonymous = Client().get("/guarded/fresh/")
    assert anonymous["Location"] == "/accounts/login/?next=/guarded/fresh/"


@pytest.mark.usefixtures("sandbox_urls")
def test_an_old_sign_in_signs_in_again_and_returns_to_the_fresh_page(
    seeded: dict[str, User], clock: Clock
) -> None:
    bob = signed_in("bob")
    session_id = client_session_id(bob)
    clock.advance(5 * 60 + 1)
    response = bob.get("/guarded/fresh/", follow=True)
    assert response.redirect_chain == [("/accounts/login/?next=/guarded/fresh/", 302)]
    hint = Hooks(response).text("login-hint")
    assert hint.startswith("You are signed in as bob, but /guarded/fresh/ asks you to sign in")
    assert whoami(bob)["username"] == "bob"  # still signed in meanwhile
    form = {"username": "bob", "password": DEFAULT_PASSWORD, "next": "/guarded/fresh/"}
    back = bob.post("/accounts/login/", form, follow=True)
    assert back.redirect_chain == [("/guarded/fresh/", 302)]
    assert back.status_code == 200
    assert client_session_id(bob) == session_id  # the same session, signed in again


@pytest.mark.usefixtures("sandbox_urls")
def test_home_says_whether_the_fresh_page_would_let_you_in(
    seeded: dict[str, User], clock: Clock
) -> None:
    bob = signed_in("bob")
    home = page(bob)
    assert home.text("guarded-hint-fresh") == "allowed"
    assert home.one("guarded-link-fresh").attrs == {
        "href": "/guarded/fresh/",
        "data-testid": "guarded-link-fresh",
        "data-allowed": "true",
    }
    signed_in_at = int(home.one("whoami-signed-in").attrs["data-unix"])
    assert signed_in_at >= int(home.one("whoami-session-started").attrs["data-unix"])
    clock.advance(5 * 60 + 1)
    later = page(bob)
    assert later.text("guarded-hint-fresh") == "sign in again"
    assert later.one("guarded-link-fresh").attrs["data-allowed"] == "false"
    assert int(later.one("whoami-signed-in-age").attrs["data-seconds"]) > 5 * 60


def remembered(client: Client) -> bool:
    return page(client).one("whoami-remembered").attrs["data-remembered"] == "true"


@pytest.mark.usefixtures("sandbox_urls")
def test_without_remember_me_the_cookie_ends_with_the_browser(
    seeded: dict[str, User], strategy: str
) -> None:
    bob = Client()
    form = {"username": "bob", "password": DEFAULT_PASSWORD}
    morsel = bob.post("/accounts/login/", form).cookies[settings.SESSION_COOKIE_NAME]
    assert (morsel["max-age"], morsel["expires"]) == ("", "")  # a browser-session cookie
    assert not remembered(bob)
    assert "remember" in Hooks(Client().get("/accounts/login/")).one("login-form").text.lower()


@pytest.mark.usefixtures("sandbox_urls")
def test_remember_me_keeps_the_normal_lifetime(seeded: dict[str, User], strategy: str) -> None:
    bob = Client()
    form = {"username": "bob", "password": DEFAULT_PASSWORD, "remember": "on"}
    morsel = bob.post("/accounts/login/", form).cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["max-age"] == settings.SESSION_COOKIE_AGE
    assert remembered(bob)
    again = bob.post("/accounts/login/", {"username": "bob", "password": DEFAULT_PASSWORD})
    assert again.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""  # changed its mind
    assert not remembered(bob)


@pytest.mark.usefixtures("sandbox_urls")
@pytest.mark.parametrize("remember", [True, False], ids=["remembered", "browser-session"])
def test_max_lifetime_still_caps_either_choice(
    seeded: dict[str, User], strategy: str, configure: Configure, clock: Clock, remember: bool
) -> None:
    configure(MAX_LIFETIME=3600)
    bob = Client()
    form = {"username": "bob", "password": DEFAULT_PASSWORD}
    response = bob.post("/accounts/login/", {**form, "remember": "on"} if remember else form)
    morsel = response.cookies[settings.SESSION_COOKIE_NAME]
    payload = token_payload(morsel.value)
    assert payload["exp"] <= payload["sat"] + 3600
    if remember:
        assert 0 < morsel["max-age"] <= 3600
    for _ in range(3):  # used every 15 minutes (half the idle timeout): still ends at 1 h
        clock.advance(15 * 60)
        assert whoami(bob)["authenticated"]
    clock.advance(3600 - 3 * 15 * 60 + get_settings().leeway)
    assert whoami(bob)["authenticated"] is False


@pytest.mark.usefixtures("sandbox_urls")
def test_the_sandbox_signs_out_a_session_idle_for_30_minutes(
    seeded: dict[str, User], clock: Clock
) -> None:
    assert SANDBOX_JWTSESSION["IDLE_TIMEOUT"] == 30 * 60
    bob = signed_in("bob")
    assert page(bob).one("whoami-idle-timeout").attrs["data-seconds"] == str(30 * 60)
    clock.advance(29 * 60)
    assert whoami(bob)["authenticated"]
    clock.advance(30 * 60)
    assert whoami(bob)["authenticated"] is False


# -- refresh my session -------------------------------------------------------------------


@pytest.mark.usefixtures("sandbox_urls")
def test_refresh_button_rebuilds_the_claims(
    seeded: dict[str, User], strategy: str, django_assert_num_queries: Any
) -> None:
    bob, target = signed_in("bob"), seeded["bob"]
    editor, admin = Group.objects.get(name="editor"), Group.objects.get(name="admin")
    User.groups.through.objects.filter(user=target, group=editor).delete()  # no signal
    User.groups.through.objects.create(user=target, group=admin)  # no signal either
    home = page(bob)
    assert home.text("whoami-roles") == "editor"  # the session does not know yet
    assert home.text("guarded-hint-admin") == "denied"
    response = bob.post("/session/refresh/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    after = Hooks(response)
    assert after.text("message") == "Claims rebuilt from the database: roles editor → admin."
    assert after.text("whoami-roles") == "admin"
    assert after.text("guarded-hint-admin") == "allowed"
    assert int(after.one("whoami-claims-at").attrs["data-unix"]) >= int(
        home.one("whoami-claims-at").attrs["data-unix"]
    )
    if strategy == "db":
        whoami(bob)  # its cache entry was dropped when the claims changed: one row read
    with django_assert_num_queries(0):
        assert whoami(bob)["roles"] == ["admin"]


@pytest.mark.usefixtures("sandbox_urls")
def test_refresh_button_says_when_nothing_changed(seeded: dict[str, User]) -> None:
    response = signed_in("carol").post("/session/refresh/", follow=True)
    assert page_messages(response) == ["Claims rebuilt from the database: nothing had changed."]


@pytest.mark.usefixtures("sandbox_urls")
def test_refresh_of_a_deactivated_user_ends_the_session(seeded: dict[str, User]) -> None:
    bob = signed_in("bob")
    User.objects.filter(pk=seeded["bob"].pk).update(is_active=False)  # no signal
    assert whoami(bob)["authenticated"] is True
    response = bob.post("/session/refresh/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert page_messages(response) == ["Your session has ended: please log in again."]
    assert whoami(bob)["authenticated"] is False


@pytest.mark.usefixtures("sandbox_urls")
def test_refresh_is_a_post_with_a_csrf_token_for_signed_in_users(seeded: dict[str, User]) -> None:
    anonymous = Client().post("/session/refresh/")
    assert anonymous["Location"] == "/accounts/login/?next=/session/refresh/"
    assert signed_in("bob").get("/session/refresh/").status_code == 405
    bob = Client(enforce_csrf_checks=True)
    login = bob.get("/accounts/login/").content.decode()
    credentials = {"username": "bob", "password": DEFAULT_PASSWORD}
    assert bob.post("/accounts/login/", {**credentials, **form_token(login)}).status_code == 302
    assert bob.post("/session/refresh/").status_code == 403
    home = bob.get("/").content.decode()
    refresh_form = home[home.index('data-testid="refresh-form"') :]
    assert bob.post("/session/refresh/", form_token(refresh_form)).status_code == 302


def form_token(html: str) -> dict[str, str]:
    """The first form's CSRF token in ``html``, as the browser posts it."""
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match is not None
    return {"csrfmiddlewaretoken": match.group(1)}


# -- my sessions --------------------------------------------------------------------------


@pytest.mark.usefixtures("sandbox_urls")
def test_my_sessions_lists_my_live_sessions(seeded: dict[str, User], strategy: str) -> None:
    gone = signed_in("bob")
    gone.post("/accounts/logout/")  # an ended one is not listed as live
    laptop = signed_in("bob", HTTP_USER_AGENT=FIREFOX)
    phone = signed_in("bob", HTTP_USER_AGENT=IPHONE)
    signed_in("alice")  # someone else's session neither
    mine = page(laptop, "/sessions/")
    rows = mine.all("session-row")
    here, there = whoami(laptop)["session_id"], whoami(phone)["session_id"]
    assert [row.attrs["data-session-id"] for row in rows] == [here, there]  # this one first
    assert [row.attrs["data-current"] for row in rows] == ["true", "false"]
    assert rows[0].attrs["id"] == f"session-{here}"
    cells = {
        name: [cell.text for cell in mine.all(f"session-{name}")]
        for name in ("device", "os", "browser", "ip", "strategy")
    }
    assert cells == {
        "device": ["—", "iPhone"],  # a desktop has no device name
        "os": ["Ubuntu", "iOS 17.5"],
        "browser": ["Firefox 128", "Mobile Safari 17"],
        "ip": ["127.0.0.1", "127.0.0.1"],
        "strategy": [strategy, strategy],
    }
    assert mine.text("session-current") == "this session"
    assert [button.attrs["data-session-id"] for button in mine.all("revoke-session")] == [
        here,
        there,
    ]
    assert mine.has("revoke-others")
    assert session_ids(phone) == [there, here]


@pytest.mark.usefixtures("sandbox_urls")
def test_revoking_one_of_my_sessions_signs_that_client_out(seeded: dict[str, User]) -> None:
    laptop, phone = signed_in("bob"), signed_in("bob")
    assert len(session_ids(laptop)) == 2
    there = whoami(phone)["session_id"]
    response = laptop.post(f"/sessions/{there}/revoke/", follow=True)
    assert response.redirect_chain == [("/sessions/", 302)]
    assert Hooks(response).text("message").startswith("Revoked the session of ")
    assert whoami(phone)["authenticated"] is False  # its very next request
    assert whoami(laptop)["authenticated"] is True
    assert session_ids(laptop) == [whoami(laptop)["session_id"]]
    assert laptop.post(f"/sessions/{there}/revoke/").status_code == 404  # already revoked


@pytest.mark.usefixtures("sandbox_urls")
def test_my_sessions_shows_the_recently_ended_ones_and_why(seeded: dict[str, User]) -> None:
    old = signed_in("bob")
    gone = whoami(old)["session_id"]
    old.post("/accounts/logout/")
    laptop, phone = signed_in("bob"), signed_in("bob")  # two: the sandbox's SESSION_LIMIT
    there = whoami(phone)["session_id"]
    laptop.post(f"/sessions/{there}/revoke/")
    mine = page(laptop, "/sessions/")
    rows = mine.all("ended-row")
    assert [row.attrs["data-session-id"] for row in rows] == [there, gone]  # latest first
    assert [row.attrs["data-reason"] for row in rows] == ["revoked_by_user", "logout"]
    assert [cell.text for cell in mine.all("ended-reason")] == [
        "revoked by the user",
        "logged out",
    ]
    assert session_ids(laptop) == [whoami(laptop)["session_id"]]  # the live list: this one
    fresh = page(signed_in("carol"), "/sessions/")
    assert fresh.all("ended-row") == []


@pytest.mark.usefixtures("sandbox_urls")
def test_a_third_sign_in_ends_the_oldest_session(seeded: dict[str, User]) -> None:
    """The sandbox's SESSION_LIMIT: two sessions per user (five for admins)."""
    first, second = signed_in("bob"), signed_in("bob")
    oldest = whoami(first)["session_id"]
    third = signed_in("bob")
    assert whoami(first)["authenticated"] is False
    assert whoami(second)["authenticated"] is True
    mine = page(third, "/sessions/")
    rows = mine.all("ended-row")
    assert [(row.attrs["data-session-id"], row.attrs["data-reason"]) for row in rows] == [
        (oldest, "limit")
    ]
    [limit] = mine.all("session-limit")
    assert (limit.attrs["data-limit"], limit.attrs["data-policy"]) == ("2", "evict_oldest")
    alices = [signed_in("alice") for _ in range(5)]
    assert all(whoami(client)["authenticated"] for client in alices)
    assert page(alices[-1], "/sessions/").all("session-limit")[0].attrs["data-limit"] == "5"


@pytest.mark.usefixtures("sandbox_urls")
def test_revoking_this_session_logs_out(seeded: dict[str, User]) -> None:
    bob = signed_in("bob")
    here = whoami(bob)["session_id"]
    response = bob.post(f"/sessions/{here}/revoke/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert page_messages(response) == ["You revoked this session: you are logged out."]
    assert whoami(bob)["authenticated"] is False
    assert SessionRecord.objects.get(session_hash=here).revoked_at is not None


@pytest.mark.usefixtures("sandbox_urls")
def test_another_users_session_is_a_404(seeded: dict[str, User]) -> None:
    bob, alice = signed_in("bob"), signed_in("alice")
    hers = whoami(alice)["session_id"]
    assert bob.post(f"/sessions/{hers}/revoke/").status_code == 404
    assert whoami(alice)["authenticated"] is True
    assert SessionRecord.objects.get(session_hash=hers).revoked_at is None
    for unknown in ("0" * 64, "not-a-session", hers.upper()):
        assert bob.post(f"/sessions/{unknown}/revoke/").status_code == 404
    assert whoami(bob)["authenticated"] is True


@pytest.mark.usefixtures("sandbox_urls")
def test_my_sessions_pages_need_a_signed_in_user_and_posts(seeded: dict[str, User]) -> None:
    bob = signed_in("bob")
    here = whoami(bob)["session_id"]
    anonymous = Client()
    for url in ("/sessions/", f"/sessions/{here}/revoke/", "/sessions/revoke-others/"):
        response = anonymous.post(url) if "revoke" in url else anonymous.get(url)
        assert response["Location"] == f"/accounts/login/?next={url}"
    assert bob.get(f"/sessions/{here}/revoke/").status_code == 405
    assert bob.get("/sessions/revoke-others/").status_code == 405
    assert whoami(bob)["authenticated"] is True


@pytest.mark.usefixtures("sandbox_urls")
def test_log_out_my_other_sessions(seeded: dict[str, User]) -> None:
    here, laptop, phone, bob = (  # alice: the sandbox lets an admin have five sessions
        signed_in("alice"),
        signed_in("alice"),
        signed_in("alice"),
        signed_in("bob"),
    )
    response = here.post("/sessions/revoke-others/", follow=True)
    assert page_messages(response) == ["Logged out your 2 other sessions; this one stays."]
    assert whoami(laptop)["authenticated"] is False
    assert whoami(phone)["authenticated"] is False
    assert whoami(here)["authenticated"] is True
    assert whoami(bob)["authenticated"] is True
    assert session_ids(here) == [whoami(here)["session_id"]]
    assert Hooks(here.post("/sessions/revoke-others/", follow=True)).text("message") == (
        "Logged out your 0 other sessions; this one stays."
    )


# -- the sandbox's /metrics (Prometheus) ----------------------------------------------------------
@pytest.mark.django_db
def test_the_sandbox_serves_the_counters_in_prometheus_format(strategy: str, settings: Any) -> None:
    settings.ROOT_URLCONF = "sandbox.urls"
    call_command("seed_demo", verbosity=0)
    bob = Client()
    assert bob.login(username="bob", password="sandbox-password")  # shared/SANDBOX.md
    before = scrape()  # anonymous: the sandbox's /metrics is public
    assert value(before, UP) == 1
    assert value(before, "jwtsession_claims_refreshes_total", strategy=strategy, reason="login")

    assert bob.get("/whoami/").json()["authenticated"] is True
    assert bob.get("/whoami/").json()["authenticated"] is True
    stranger = Client()
    stranger.cookies[settings.SESSION_COOKIE_NAME] = "not-a-session"
    assert stranger.get("/whoami/").json()["authenticated"] is False
    after = scrape()

    grown = {key: after[key] - count for key, count in before.items() if after[key] != count}
    decoded = "jwtsession_sessions_decoded_total"
    assert grown.pop((decoded, (("strategy", strategy),))) == 2
    assert grown.pop(("jwtsession_state_checks_total", (("result", "hit"),))) == 2
    [(name, labels)] = grown  # and the stranger's refusal, with its reason
    assert (name, grown[name, labels]) == ("jwtsession_sessions_refused_total", 1)
    assert ("strategy", strategy) in labels
    assert all(after[key] >= count for key, count in before.items())  # counters only grow


@pytest.mark.django_db
def test_every_session_counter_reaches_its_strategys_running_total(
    strategy: str, settings: Any
) -> None:
    """Sign in, read, refresh, refuse, revoke: per strategy, the running totals add up
    to the per-minute counts (every store passes its strategy)."""
    settings.ROOT_URLCONF = "sandbox.urls"
    call_command("seed_demo", verbosity=0)
    client = Client()
    assert client.login(username="bob", password="sandbox-password")
    client.get("/whoami/")
    client.post("/session/refresh/")
    client.get("/whoami/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 10
    client.get("/whoami/")
    metrics.flush()

    minute_totals = metrics.totals()
    running = metrics.running_totals()
    for name in metrics.PER_STRATEGY_NAMES:
        assert running[name, strategy] == minute_totals[name], name
    assert minute_totals["decode.ok"] >= 2
    assert minute_totals["refresh.login"] == 1


# -- impersonation in the sandbox ---------------------------------------------------------


@pytest.mark.usefixtures("sandbox_urls")
def test_an_impersonation_shows_who_acts_in_my_sessions_and_on_the_403_page(
    seeded: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    """alice (a superuser) acts as bob: bob's "my sessions" lists the impersonation as acted
    by alice (his own session by nobody else), the fresh page's 403 says why it refuses, and
    what alice revokes while acting is ended by her in the history."""
    own = signed_in("bob")
    alice = signed_in("alice")
    assert alice.post(f"/impersonation/{seeded['bob'].pk}/start/").status_code == 302
    assert whoami(alice)["username"] == "bob"
    with django_assert_max_num_queries(12):  # the actor comes with each record
        mine = page(alice, "/sessions/")
    acted = {
        row.attrs["data-session-id"]: row.attrs["data-current"] for row in mine.all("session-row")
    }
    assert sorted(acted.values()) == ["false", "true"]
    assert [cell.text for cell in mine.all("session-acted-by")] == ["acted by alice"]
    assert mine.all("session-row")[0].attrs["data-current"] == "true"  # it is this session
    refused = Hooks(alice.get("/guarded/fresh/"), status=403)
    assert "while impersonating" in refused.text("forbidden-reason")
    assert refused.text("forbidden-impersonated").startswith("You are acting as bob for alice")
    others = whoami(own)["session_id"]
    assert alice.post(f"/sessions/{others}/revoke/").status_code == 302
    record = SessionRecord.objects.get(session_hash=others)
    assert (record.end_reason, record.ended_by.username) == ("revoked_by_user", "alice")
    assert [cell.text for cell in page(alice, "/sessions/").all("ended-acted-by")] == ["—"]
