"""The session admin: lists, filters, actions and deletes that revoke, the user admin, stats."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_jwtsession import metrics
from django_jwtsession.admin import SessionRecordAdmin, SessionsUserAdminMixin, install_user_admin
from django_jwtsession.admin.agents import parse
from django_jwtsession.keyspace import epoch_key, revoked_key, stored_session_key
from django_jwtsession.models import SessionRecord
from django_jwtsession.signals import session_revoked
from django_jwtsession.timestamps import iso
from tests.helpers import (
    PASSWORD,
    add_dead_cache,
    client_session_id,
    jwtsession_settings,
    make_user,
    session_token,
    state_cache_key,
)

User = get_user_model()

pytestmark = pytest.mark.django_db
SESSIONS = "jwtsession_sessions"
CHANGELIST = "/admin/django_jwtsession/sessionrecord/"
STATS = CHANGELIST + "stats/"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def user_admin(pk: Any = None) -> str:
    """The user admin's change list, or the change page of user ``pk`` (any user model)."""
    prefix = f"admin:{User._meta.app_label}_{User._meta.model_name}"
    return reverse(f"{prefix}_changelist") if pk is None else reverse(f"{prefix}_change", args=[pk])


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


def sign_in(username: str, ip: str = "192.0.2.10", agent: str = FIREFOX) -> Client:
    """A login through the login page, so the session record has an IP and a user agent."""
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def secrets_of(client: Client) -> list[str]:
    """What must never appear in the admin: the cookie value and the (secret) session id."""
    cookie = session_token(client)
    return [cookie, client_session_id(client)]


def record_of(user: User) -> SessionRecord:
    return SessionRecord.objects.get(user=user, revoked_at=None)


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    text: str = response.content.decode()
    return text


@pytest.fixture
def root(db: None) -> User:
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def staff(root: User) -> Client:
    """The superuser, signed in to the admin."""
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    return client


@pytest.fixture
def revocations() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    session_revoked.connect(receiver)
    yield received
    session_revoked.disconnect(receiver)


def add_records(count: int, users: list[User], start: int = 0) -> None:
    now = timezone.now()
    agents = (FIREFOX, IPHONE, CHROME)
    SessionRecord.objects.bulk_create(
        SessionRecord(
            session_hash=hashlib.sha256(f"session {start + i}".encode()).hexdigest(),
            user=users[i % len(users)],
            strategy="jwt",
            ip=f"198.51.100.{i % 250}",
            user_agent=agents[i % len(agents)],
            created=now,
            last_seen=now,
            expires=now + timedelta(days=1),
        )
        for i in range(count)
    )


# -- the changelist ------------------------------------------------------------------------------


def test_changelist_lists_sessions_with_ip_browser_and_status(staff: Client, bob: User) -> None:
    sign_in("bob", ip="192.0.2.10", agent=FIREFOX)
    page = html(staff.get(CHANGELIST, {"q": "bob"}))
    row = re.search(r"<tr>.*?</tr>", page.split("<tbody>", 1)[1], re.S)
    assert row is not None
    for expected in ("bob", "192.0.2.10", "Firefox 140", "Linux", "Active", "jwt"):
        assert expected in row.group(0), expected
    assert f'href="{user_admin(bob.pk)}"' in row.group(0)
    assert f'href="{STATS}"' in page  # the statistics link among the object tools


def test_changelist_query_count_does_not_grow_with_rows(staff: Client, root: User) -> None:
    users = User.objects.bulk_create(User(username=f"user{i}") for i in range(40))
    add_records(5, users)
    staff.get(CHANGELIST)  # warm: the admin's own claims and permissions

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            page = html(staff.get(CHANGELIST))
        assert "user1" in page
        return [query["sql"] for query in captured.captured_queries]

    few = queries()
    add_records(495, users, start=5)
    many = queries()
    assert len(few) == len(many), "\n".join(many)


def test_anonymous_sessions_are_not_listed(staff: Client, root: User) -> None:
    now = timezone.now()
    SessionRecord.objects.create(
        session_hash="a" * 64, user=None, strategy="db", created=now, last_seen=now, expires=now
    )
    anonymous = SessionRecord.objects.get(session_hash="a" * 64)
    listed = list(staff.get(CHANGELIST).context["cl"].result_list)
    assert listed
    assert all(record.user_id is not None for record in listed)
    assert anonymous.pk not in {record.pk for record in listed}


def test_a_record_whose_user_is_gone_is_not_listed(staff: Client, root: User) -> None:
    """Records have no database constraint on their user: one may outlive it (a race with
    the user's deletion). Its session cannot be used; the admin leaves it out, no error."""
    now = timezone.now()
    gone = make_user("gone")
    missing = gone.pk
    gone.delete()
    record = SessionRecord.objects.create(
        session_hash="b" * 64,
        user_id=missing,
        strategy="jwt",
        created=now,
        last_seen=now,
        expires=now + timedelta(days=1),
    )
    listed = staff.get(CHANGELIST).context["cl"].result_list
    assert record.pk not in {row.pk for row in listed}
    assert staff.get(f"{CHANGELIST}{record.pk}/change/").status_code == 302  # "does not exist"


def listed(staff: Client, **query: str) -> list[str]:
    response = staff.get(CHANGELIST, query)
    assert response.status_code == 200
    return sorted(record.user.username for record in response.context["cl"].result_list)


def test_filters_and_search(staff: Client, bob: User) -> None:
    make_user("alice")
    make_user("carol")
    sign_in("bob", ip="192.0.2.10")
    sign_in("alice", ip="2001:db8::1")
    sign_in("carol", ip="192.0.2.99")
    SessionRecord.objects.filter(user__username="carol").update(
        expires=timezone.now() - timedelta(minutes=1)
    )
    SessionRecord.objects.filter(user__username="alice").update(revoked_at=timezone.now())

    assert listed(staff, q="bob") == ["bob"]
    assert listed(staff, q="AL") == ["alice"]  # the username, case-insensitively
    assert listed(staff, q="192.0.2.99") == ["carol"]
    assert listed(staff, q="2001:DB8:0::1") == ["alice"]  # the same IPv6 address
    assert listed(staff, q="192.0.2") == []  # an IP is matched exactly
    assert listed(staff, status="revoked") == ["alice"]
    assert listed(staff, status="expired") == ["carol"]
    assert "bob" in listed(staff, status="active")
    assert not {"alice", "carol"} & set(listed(staff, status="active"))
    assert "bob" in listed(staff, strategy=record_of(User.objects.get(username="bob")).strategy)
    assert listed(staff, strategy="nonexistent") == []


def test_hidden_fields_cannot_be_filtered_on(staff: Client, bob_client: Client) -> None:
    prefix = record_of(User.objects.get(username="bob")).session_hash[:4]
    assert staff.get(CHANGELIST, {"session_hash__startswith": prefix}).status_code == 400
    assert staff.get(CHANGELIST, {"data__contains": "a"}).status_code == 400
    assert staff.get(CHANGELIST, {"meta__contains": "a"}).status_code == 400


def test_no_token_or_session_id_in_any_admin_page(strategy: str, staff: Client, bob: User) -> None:
    client = sign_in("bob")
    record = record_of(bob)
    pages = [
        html(staff.get(CHANGELIST)),
        html(staff.get(f"{CHANGELIST}{record.pk}/change/")),
        html(staff.get(f"{CHANGELIST}{record.pk}/delete/")),
        html(
            staff.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [record.pk]})
        ),
        html(staff.get(user_admin(bob.pk))),
        html(staff.get(STATS)),
    ]
    secrets = secrets_of(client) + secrets_of(staff)
    assert len(secrets) == 4
    for page in pages:
        for secret in secrets:
            assert secret not in page


def test_the_change_page_shows_the_public_id_and_search_finds_it(
    strategy: str, staff: Client, bob: User
) -> None:
    client = sign_in("bob")
    public_id = client.get("/api/session/").json()["session"]["id"]
    record = record_of(bob)
    assert record.session_hash == public_id
    page = html(staff.get(f"{CHANGELIST}{record.pk}/change/"))
    assert public_id in page
    found = html(staff.get(CHANGELIST, {"q": public_id}))
    assert f'name="_selected_action" value="{record.pk}"' in found
    assert "1 session" in found
    assert "0 sessions" in html(staff.get(CHANGELIST, {"q": "f" * 64}))


def test_read_only(staff: Client, bob_client: Client, bob: User) -> None:
    record = record_of(bob)
    assert staff.get(CHANGELIST + "add/").status_code == 403
    page = html(staff.get(f"{CHANGELIST}{record.pk}/change/"))
    assert 'name="_save"' not in page
    assert 'type="text"' not in page
    before = SessionRecord.objects.values().get(pk=record.pk)
    staff.post(f"{CHANGELIST}{record.pk}/change/", {"ip": "203.0.113.1", "strategy": "x"})
    assert SessionRecord.objects.values().get(pk=record.pk) == before


# -- actions and deletes revoke ------------------------------------------------------------------


def revoke_selected(staff: Client, record: SessionRecord) -> None:
    response = staff.post(
        CHANGELIST, {"action": "revoke_sessions", "_selected_action": [record.pk]}
    )
    assert response.status_code == 302
    assert "Revoked 1 session." in html(staff.get(CHANGELIST))


def revoke_users(staff: Client, record: SessionRecord) -> None:
    response = staff.post(CHANGELIST, {"action": "revoke_users", "_selected_action": [record.pk]})
    assert response.status_code == 302
    assert "Ended every session of 1 user." in html(staff.get(CHANGELIST))


def bulk_delete(staff: Client, record: SessionRecord) -> None:
    data = {"action": "delete_selected", "_selected_action": [record.pk]}
    assert staff.post(CHANGELIST, data).status_code == 200  # the confirmation page
    assert staff.post(CHANGELIST, {**data, "post": "yes"}).status_code == 302
    assert not SessionRecord.objects.filter(pk=record.pk).exists()


def delete_view(staff: Client, record: SessionRecord) -> None:
    url = f"{CHANGELIST}{record.pk}/delete/"
    assert staff.post(url, {"post": "yes"}).status_code == 302
    assert not SessionRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("act", [revoke_selected, revoke_users, bulk_delete, delete_view])
def test_every_action_and_delete_path_revokes(
    strategy: str,
    act: Any,
    staff: Client,
    bob: User,
    bob_client: Client,
    revocations: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_user("alice")
    alice = sign_in("alice")
    assert whoami(bob_client)["authenticated"] is True
    record = record_of(bob)
    stored = stored_session_key(record.session_hash, "db", bob.pk)
    assert (caches["default"].get(stored) is not None) == (strategy == "db")
    with django_capture_on_commit_callbacks(execute=True):
        act(staff, record)
    assert caches["default"].get(stored) is None  # a db session is evicted from the cache
    assert whoami(bob_client) == {"authenticated": False}
    assert whoami(alice)["username"] == "alice"  # nobody else
    assert whoami(staff)["username"] == "root"
    assert len(revocations) == 1
    cache = caches["default"]
    if act is revoke_users:
        assert revocations[0]["scope"] == "user"
        assert revocations[0]["user_ids"] == [str(bob.pk)]
        assert cache.get(state_cache_key(epoch_key(bob.pk))) == 1  # the cache has it at once
    else:
        assert revocations[0]["scope"] == "session"
        assert revocations[0]["session_ids"] == [record.session_hash]  # the public id
        assert cache.get(state_cache_key(revoked_key(record.session_hash), bob.pk)) == 1
    if act in (revoke_selected, revoke_users):
        assert SessionRecord.objects.get(pk=record.pk).revoked_at is not None  # kept, revoked


def test_revoking_ones_own_user_keeps_the_current_session(
    strategy: str, staff: Client, root: User, django_capture_on_commit_callbacks: Any
) -> None:
    other_device = sign_in("root")
    record = SessionRecord.objects.filter(user=root).first()
    assert record is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            CHANGELIST, {"action": "revoke_users", "_selected_action": [record.pk]}
        )
    assert response.status_code == 302
    assert whoami(other_device) == {"authenticated": False}
    assert whoami(staff)["username"] == "root"


def test_force_refresh_shows_on_the_next_request(
    strategy: str,
    staff: Client,
    bob: User,
    bob_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert whoami(bob_client)["is_staff"] is False
    User.objects.filter(pk=bob.pk).update(is_staff=True)  # no signal: the claims do not know
    assert whoami(bob_client)["is_staff"] is False
    data = {"action": "refresh_users", "_selected_action": [record_of(bob).pk]}
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(CHANGELIST, data).status_code == 302
    assert whoami(bob_client)["is_staff"] is True
    assert "rebuilt on their next request" in html(staff.get(CHANGELIST))


# -- permissions ---------------------------------------------------------------------------------


def test_non_staff_cannot_see_the_admin_pages(bob: User, bob_client: Client) -> None:
    record = record_of(bob)
    for url in (CHANGELIST, STATS, f"{CHANGELIST}{record.pk}/change/"):
        response = bob_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    response = bob_client.post(CHANGELIST, {"action": "revoke_users", "_selected_action": [1]})
    assert response.status_code == 302
    assert whoami(bob_client)["authenticated"] is True


def clerk(*codenames: str) -> Client:
    """A staff user with these permissions, signed in (needs ``user_permissions``)."""
    user = make_user("clerk", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    assert client.login(username="clerk", password=PASSWORD)
    return client


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_staff_without_permission_get_403(bob_client: Client) -> None:
    client = clerk()
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(STATS).status_code == 403


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_view_permission_sees_but_cannot_act(bob: User, bob_client: Client) -> None:
    client = clerk("view_sessionrecord")
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "action_form" not in response.context or response.context["action_form"] is None
    assert client.get(STATS).status_code == 200
    record = record_of(bob)
    client.post(CHANGELIST, {"action": "revoke_sessions", "_selected_action": [record.pk]})
    assert client.post(f"{CHANGELIST}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert whoami(bob_client)["authenticated"] is True


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_actions_follow_delete_and_change_permissions(bob: User, bob_client: Client) -> None:
    client = clerk("view_sessionrecord", "delete_sessionrecord")
    choices = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert {"revoke_sessions", "revoke_users", "delete_selected"} <= set(choices)
    assert "refresh_users" not in choices
    Permission.objects.get(codename="change_sessionrecord").user_set.add(
        User.objects.get(username="clerk")
    )
    choices = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "refresh_users" in choices


# -- the user admin ------------------------------------------------------------------------------


def test_user_admin_shows_the_users_live_sessions(staff: Client, bob: User) -> None:
    sign_in("bob", ip="192.0.2.10", agent=IPHONE)
    sign_in("bob", ip="192.0.2.11", agent=CHROME)
    gone = sign_in("bob", ip="192.0.2.12")
    SessionRecord.objects.filter(ip="192.0.2.12").update(revoked_at=timezone.now())
    page = html(staff.get(user_admin(bob.pk)))
    section = page.split("Live sessions", 1)[1]
    for expected in ("192.0.2.10", "iPhone", "iOS 17.1", "Mobile Safari 17", "192.0.2.11"):
        assert expected in section, expected
    assert "Windows 10" in section
    assert "192.0.2.12" not in section  # revoked
    assert f'href="{CHANGELIST}?user__exact={bob.pk}"' in section
    assert listed(staff, user__exact=str(bob.pk)) == ["bob"] * 3
    assert gone is not None


def test_user_admin_post_needs_no_session_data(
    staff: Client, bob: User, bob_client: Client
) -> None:
    """The sessions are a read-only field, not an inline: a user form posted as before saves."""
    data = {
        "username": "bob",
        "email": "new@example.com",
        "is_active": "on",
        "date_joined_0": bob.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": bob.date_joined.strftime("%H:%M:%S"),
    }
    response = staff.post(user_admin(bob.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=bob.pk).email == "new@example.com"


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_user_admin_hides_sessions_without_permission(bob: User, bob_client: Client) -> None:
    client = clerk("view_user", "change_user")
    assert "Live sessions" not in html(client.get(user_admin(bob.pk)))


def test_user_admin_logs_out_everywhere(
    strategy: str,
    staff: Client,
    bob: User,
    bob_client: Client,
    revocations: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    phone = sign_in("bob", agent=IPHONE)
    make_user("alice")
    alice = sign_in("alice")
    data = {"action": "jwtsession_logout_everywhere", "_selected_action": [bob.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(user_admin(), data).status_code == 302
    assert whoami(bob_client) == {"authenticated": False}
    assert whoami(phone) == {"authenticated": False}
    assert whoami(alice)["authenticated"] is True
    assert [event["user_ids"] for event in revocations] == [[str(bob.pk)]]
    assert "Logged 1 user out everywhere." in html(staff.get(user_admin()))
    assert not SessionRecord.objects.filter(user=bob, revoked_at=None).exists()


def test_the_user_admin_is_patched_only_where_registered() -> None:
    assert isinstance(admin.site.get_model_admin(User), SessionsUserAdminMixin)
    assert isinstance(admin.site.get_model_admin(SessionRecord), SessionRecordAdmin)
    empty = admin.AdminSite(name="empty")
    assert install_user_admin(empty) is False
    assert not empty.is_registered(User)

    class PlainUserAdmin(admin.ModelAdmin):
        list_display = ("username",)

    other = admin.AdminSite(name="other")
    other.register(User, PlainUserAdmin)
    assert install_user_admin(other) is True
    patched = other.get_model_admin(User)
    assert isinstance(patched, SessionsUserAdminMixin)
    assert isinstance(patched, PlainUserAdmin)
    assert type(patched).__name__ == "PlainUserAdmin"
    assert install_user_admin(other) is True  # idempotent
    assert type(other.get_model_admin(User)) is type(patched)


def test_mixin_on_an_admin_without_fieldsets_lists_the_field_once(root: User, rf: Any) -> None:
    class PlainUserAdmin(SessionsUserAdminMixin, admin.ModelAdmin):
        pass

    request = rf.get("/")
    request.user = root
    model_admin = PlainUserAdmin(User, admin.AdminSite(name="plain"))
    assert flatten_fieldsets(model_admin.get_fieldsets(request, root)).count(SESSIONS) == 1
    assert SESSIONS not in flatten_fieldsets(model_admin.get_fieldsets(request, None))


# -- the statistics page -------------------------------------------------------------------------


@pytest.fixture
def counted() -> Iterator[None]:
    metrics.reset()
    metrics.count("refresh.ttl", 3)
    metrics.count("refresh.mark", 2)
    metrics.count("state.hit", 9)
    metrics.count("state.miss", 1)
    metrics.count("revoke.session", 4)
    metrics.count("decode.signature", 5)
    metrics.flush()
    yield
    metrics.reset()


def chart_markup(page: str) -> list[str]:
    return re.findall(r'<svg class="jwtsession-chart".*?</svg>', page, re.S)


def test_stats_page_shows_the_counters_and_charts(staff: Client, counted: None) -> None:
    page = html(staff.get(STATS))
    for label, value in [("ttl", 3), ("mark", 2), ("hit", 9), ("miss", 1), ("session", 4)]:
        assert f'<th scope="row">{label}</th><td>{value}</td>' in page, label
    assert '<th scope="row">signature</th><td>5</td>' in page
    assert '<th scope="row">cache hit rate</th><td>90.0%</td>' in page
    assert '<th scope="row">in all</th><td>5</td>' in page  # refreshes
    assert '<th scope="row">failed</th><td>5</td>' in page  # decodes
    svgs = chart_markup(page)
    assert len(svgs) == 4
    for svg in svgs:  # CSP-friendly: no script, no inline style, no external reference
        assert "<script" not in svg
        assert "style" not in svg
        assert "href" not in svg
    assert re.search(r'<rect [^>]*height="80(\.0)?"', svgs[0])  # the busiest minute: full height


def test_stats_page_shows_the_pushed_mirror(staff: Client) -> None:
    metrics.reset()
    metrics.count("mirror.hits", 3)
    metrics.count("mirror.misses", 1)
    metrics.count("mirror.reconnects", 2)
    metrics.count("mirror.degraded_ms", 1500)
    metrics.flush()
    page = html(staff.get(STATS))
    assert "Pushed mirror" in page
    for label, value in [("hits", 3), ("misses", 1), ("reconnects", 2), ("degraded ms", 1500)]:
        assert f'<th scope="row">{label}</th><td>{value}</td>' in page, label
    assert '<th scope="row">mirror hit rate</th><td>75.0%</td>' in page
    metrics.reset()


def test_stats_window(staff: Client, counted: None) -> None:
    assert staff.get(STATS, {"minutes": "15"}).context["minutes"] == 15
    for bad in ("abc", "0", "-5", "99999", "1.5", ""):
        response = staff.get(STATS, {"minutes": bad})
        assert response.status_code == 200
        assert response.context["minutes"] == 60
        assert "<td>90.0%</td>" in response.content.decode()


def test_stats_page_without_counts(staff: Client) -> None:
    metrics.reset()
    page = html(staff.get(STATS))
    assert "Nothing was counted in this window." in page
    assert "every 3600 s (METRICS_FLUSH_SECONDS)" in page  # counts arrive late: it says so
    assert '<th scope="row">cache hit rate</th><td>no checks</td>' in page


def test_stats_page_with_the_cache_unreachable(staff: Client, settings: Any) -> None:
    add_dead_cache(settings)
    with jwtsession_settings(CACHE_ALIAS="down"):
        page = html(staff.get(STATS))
    assert "The counters could not be read" in page
    assert "down" in page
    assert chart_markup(page) == []


# -- user agents ---------------------------------------------------------------------------------


def test_user_agents_are_parsed_once_each() -> None:
    parse.cache_clear()
    assert parse(IPHONE) == ("iPhone", "iOS 17.1", "Mobile Safari 17")
    assert parse(CHROME) == ("—", "Windows 10", "Chrome 120")
    assert parse("") == ("—", "—", "—")
    assert parse("curl/8.5.0").browser == "curl 8"
    parse(IPHONE)
    assert parse.cache_info().hits == 1


def test_revoke_selected_comes_before_delete_selected(staff: Client, bob_client: Client) -> None:
    choices = [
        name for name, _ in staff.get(CHANGELIST).context["action_form"].fields["action"].choices
    ]
    assert choices == ["", "revoke_sessions", "revoke_users", "refresh_users", "delete_selected"]


def test_a_sessions_title_names_its_user(staff: Client, bob: User) -> None:
    sign_in("bob")
    record = record_of(bob)
    page = html(staff.get(f"{CHANGELIST}{record.pk}/change/"))
    title = re.search(r"<h2>(.*?)</h2>", page)
    assert title is not None
    assert title.group(1).startswith("session of bob since ")
    anonymous = SessionRecord(user=None, created=timezone.now())
    assert str(anonymous).startswith("session of an anonymous visitor since ")
    gone = SessionRecord(
        user_id=999_999 if not isinstance(bob.pk, str) else "x", created=timezone.now()
    )
    assert str(gone).startswith("session of deleted user ")


def test_the_list_fits_one_line_per_session(staff: Client, bob: User) -> None:
    """Compact times (the exact UTC one on hover) and one client column: docs/admin.md."""
    sign_in("bob")
    page = html(staff.get(CHANGELIST))
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert headers == [
        "user_link",
        "acted_by",
        "ip",
        "client",
        "created_at",
        "last_seen_at",
        "expires_at",
        "status",
    ]
    record = record_of(bob)
    exact = iso(record.last_seen)
    assert f'<time datetime="{exact}" title="{exact}">' in page
    assert ">Linux · Firefox 140</span>" in page
    assert "sessions.css" in page
