"""The sandbox's contract (shared/SANDBOX.md): ``seed_demo``, the login page, ``/whoami/``;
also its staff page and admin, whose changes show on the user's next request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client, override_settings

from demo.models import TIERS, Subscription
from django_jwtsession.models import StateEntry
from django_jwtsession.state import mark_key
from sandbox.settings import JWTSESSION as SANDBOX_JWTSESSION

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
    with override_settings(
        ROOT_URLCONF="sandbox.urls",
        STRATEGY="jwt",
        TEMPLATES=templates,
        JWTSESSION=SANDBOX_JWTSESSION,
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
def test_staff_pages_send_anonymous_and_non_staff_users_to_the_login_page(
    seeded: dict[str, User], method: str, url: str
) -> None:
    url = url.format(bob=seeded["bob"].pk)
    bob = signed_in("bob")
    for client in (Client(), bob, signed_in("carol")):
        data = access_form(seeded["bob"], tier="enterprise") if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
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
    with django_assert_num_queries(0):  # then back to claims from the cookie
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
    html = signed_in(username).get("/").content.decode()
    rows = re.findall(r'<a href="(/guarded/\w+/)">.*?<td>(yes|no)</td></tr>', html)
    assert dict(rows) == expected
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
