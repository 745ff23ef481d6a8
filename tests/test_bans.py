"""Timed bans and the sign-in gate: a banned user's sessions end on their next request, and
signing in is refused — with a form error, a REST 403 with a message, or a plain 403 wherever
else ``login()`` is called — never a 500, never a signed-in cookie."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from django_jwtsession import SignInRefused, ban_user, banned_until, check_sign_in, unban_user
from django_jwtsession.models import SessionRecord, UserBan
from tests.helpers import PASSWORD, make_user, session_token, token_payload

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
CREDENTIALS = {"username": "bob", "password": PASSWORD}


def signed_in(client: Client) -> bool:
    return bool(client.get("/whoami/").json()["authenticated"])


def no_signed_in_cookie(client: Client, response: Any) -> None:
    """The response wrote no cookie that signs anyone in (and the client holds none)."""
    cookie = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is not None and cookie.value:
        assert "_auth_user_id" not in token_payload(cookie.value)["dat"]
    assert not signed_in(client)
    assert not SessionRecord.objects.filter(revoked_at=None).exclude(user=None).exists()


def local_now() -> datetime:
    """Now as the admin's forms read it (the current time zone; naive without USE_TZ)."""
    return timezone.localtime() if settings.USE_TZ else timezone.now()


@pytest.fixture
def banned(bob: User) -> User:
    ban_user(bob, timedelta(hours=1), reason="spam")
    return bob


# -- banning ends sessions -------------------------------------------------------------------------


def test_a_ban_ends_every_session_on_its_next_request(
    bob: User, django_capture_on_commit_callbacks: Any
) -> None:
    alice = make_user("alice", is_staff=True)
    laptop, phone, hers = Client(), Client(), Client()
    for client, username in ((laptop, "bob"), (phone, "bob"), (hers, "alice")):
        assert client.login(username=username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        ban = ban_user(bob, timedelta(days=1), reason="spam", by=alice)
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert signed_in(hers)
    ended = SessionRecord.objects.filter(user=bob)
    assert {(record.end_reason, record.ended_by_id) for record in ended} == {("ban", alice.pk)}
    assert (ban.user_id, ban.reason, ban.banned_by_id) == (bob.pk, "spam", alice.pk)
    assert banned_until(bob) == ban.until
    assert banned_until(alice) is None


def test_ban_arguments_are_checked(bob: User) -> None:
    with pytest.raises(ValueError, match="in the future"):
        ban_user(bob, timezone.now() - timedelta(minutes=1))
    with pytest.raises(ValueError, match="in the future"):
        ban_user(bob, timedelta(0))
    if settings.USE_TZ:
        with pytest.raises(ValueError, match="aware"):
            ban_user(bob, timezone.now().replace(tzinfo=None) + timedelta(days=1))
    with pytest.raises(TypeError, match="datetime or after a timedelta"):
        ban_user(bob, 3600)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="200 characters"):
        ban_user(bob, timedelta(days=1), reason="x" * 201)
    with pytest.raises(TypeError, match="one user at a time"):
        ban_user(User.objects.all(), timedelta(days=1))
    with pytest.raises(ValueError, match="Not a user"):
        ban_user(None, timedelta(days=1))
    assert not UserBan.objects.exists()


def test_a_ban_too_far_ahead_is_a_clear_error_not_an_overflow(bob: User) -> None:
    with pytest.raises(ValueError, match="before 9999-01-01"):
        ban_user(bob, timedelta(days=999_999_998))  # past datetime.max: was OverflowError
    with pytest.raises(ValueError, match="before 9999-01-01"):
        ban_user(bob, datetime(9999, 6, 1, tzinfo=dt_timezone.utc))
    assert not UserBan.objects.exists()
    ban_user(bob, datetime(9998, 12, 31, tzinfo=dt_timezone.utc))  # the latest allowed
    assert banned_until(bob) is not None


def test_signing_in_under_a_ban_the_local_zone_cannot_show_is_no_500(bob: User) -> None:
    """A ban's end stored (by hand, or before the bound) where the local time zone runs past
    year 9999: the refusal still says until when, in UTC."""
    until = datetime(9999, 12, 31, 23, tzinfo=dt_timezone.utc)
    UserBan.objects.create(user=bob, until=until if settings.USE_TZ else until.replace(tzinfo=None))
    client = Client(raise_request_exception=False)
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        response = client.post("/accounts/gated-login/", CREDENTIALS)
    assert response.status_code == 200
    assert "suspended until 9999-12-31 23:00" in response.content.decode()
    no_signed_in_cookie(client, response)


def test_banning_again_replaces_the_ban_and_unban_lifts_it(bob: User) -> None:
    ban_user(bob.pk, timedelta(days=7))
    until = ban_user(bob, timedelta(hours=1)).until
    assert UserBan.objects.get().until == until
    assert unban_user(bob) is True
    assert unban_user(bob) is False
    assert banned_until(bob) is None
    assert Client().login(**CREDENTIALS)


def test_a_ban_that_is_over_lets_the_user_in_and_clearsessions_deletes_it(banned: User) -> None:
    from django.core.management import call_command

    UserBan.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert banned_until(banned) is None
    assert Client().login(**CREDENTIALS)
    call_command("clearsessions")
    assert not UserBan.objects.exists()


# -- sign-in refused, wherever it happens ----------------------------------------------------------


def test_our_login_form_says_why_and_until_when(banned: User) -> None:
    client = Client()
    response = client.post("/accounts/gated-login/", CREDENTIALS)
    assert response.status_code == 200  # the form again, with its error
    [error] = response.context["form"].non_field_errors().as_data()
    assert error.code == "banned"
    until = timezone.localtime(UserBan.objects.get().until) if settings.USE_TZ else None
    assert "This account is suspended until" in error.message
    if until is not None:
        assert f"{until:%Y-%m-%d %H:%M}" in error.message
    no_signed_in_cookie(client, response)


def test_the_rest_login_answers_403_with_the_message(banned: User) -> None:
    for as_token in (False, True):
        client = Client()
        response = client.post(
            "/api/session/", {**CREDENTIALS, "token": as_token}, content_type="application/json"
        )
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "banned"
        assert body["detail"].startswith("This account is suspended until")
        assert body["until"].endswith("Z")
        assert "token" not in body
        no_signed_in_cookie(client, response)


@pytest.mark.parametrize("url", ["/accounts/login/", "/custom-login/", "/async-login/"])
def test_any_other_login_is_a_403_and_leaves_nobody_signed_in(banned: User, url: str) -> None:
    """Django's own LoginView (not our form), a view calling login() or alogin(): the
    user_logged_in receiver refuses: PermissionDenied, the session flushed."""
    client = Client()
    response = client.post(url, CREDENTIALS)
    assert response.status_code == 403
    no_signed_in_cookie(client, response)


@pytest.mark.parametrize("url", ["/accounts/login/", "/async-login/"])
def test_a_refused_sign_in_leaves_last_login_alone(banned: User, url: str) -> None:
    """Django's receiver that writes ``last_login`` runs after the gate: a refused sign-in is
    no sign-in; an allowed one still writes it."""
    assert User.objects.get(pk=banned.pk).last_login is None
    assert Client().post(url, CREDENTIALS).status_code == 403
    assert User.objects.get(pk=banned.pk).last_login is None
    unban_user(banned)
    assert Client().post(url, CREDENTIALS).status_code in (200, 302)  # signed in
    assert User.objects.get(pk=banned.pk).last_login is not None


def test_the_admin_login_is_a_403_not_a_500(db: None) -> None:
    root = make_user("root", is_staff=True, is_superuser=True)
    ban_user(root, timedelta(hours=1))
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 403
    no_signed_in_cookie(client, response)
    assert client.get("/admin/").status_code == 302  # to the login page


def test_the_mixin_gives_the_admin_login_a_form_error(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm

    from django_jwtsession import SignInGateMixin

    class AdminLoginForm(SignInGateMixin, AdminAuthenticationForm):
        pass

    monkeypatch.setattr(admin.site, "login_form", AdminLoginForm)
    root = make_user("root", is_staff=True, is_superuser=True)
    ban_user(root, timedelta(hours=1))
    client = Client()
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 200
    assert "This account is suspended until" in response.content.decode()
    no_signed_in_cookie(client, response)


def test_signing_in_over_a_session_of_another_user_signs_that_one_out_too(banned: User) -> None:
    make_user("carol")
    client = Client()
    assert client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert signed_in(client)
    response = client.post("/accounts/login/", CREDENTIALS)
    assert response.status_code == 403
    assert not signed_in(client)


def test_the_test_client_and_check_sign_in_raise(banned: User) -> None:
    with pytest.raises(SignInRefused) as refused:
        Client().login(**CREDENTIALS)
    assert isinstance(refused.value, PermissionDenied)
    assert (refused.value.code, refused.value.until) == ("banned", UserBan.objects.get().until)
    with pytest.raises(SignInRefused, match="suspended"):
        check_sign_in(banned)


# -- what bans cost --------------------------------------------------------------------------------


def test_the_hot_path_is_unchanged_by_bans(
    bob: User, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    make_user("carol")
    client = Client()
    assert client.login(username="carol", password=PASSWORD)
    client.get("/whoami/")
    ban_user(bob, timedelta(days=1))
    cache_calls.clear()
    with django_assert_num_queries(0):
        assert signed_in(client)
    assert cache_calls == ["get_many"]
    assert session_token(client)


# -- the admin -------------------------------------------------------------------------------------

BANS = "/admin/django_jwtsession/userban/"
USERS = f"/admin/{User._meta.app_label}/{User._meta.model_name}/"


@pytest.fixture
def staff(db: None) -> Client:
    make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    return client


def test_adding_a_ban_in_the_admin_bans_and_deleting_it_lifts_it(staff: Client, bob: User) -> None:
    victim = Client()
    assert victim.login(**CREDENTIALS)
    until = local_now() + timedelta(days=2)
    data = {
        "user": bob.pk,
        "until_0": f"{until:%Y-%m-%d}",
        "until_1": f"{until:%H:%M:%S}",
        "reason": "abuse",
    }
    response = staff.post(f"{BANS}add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ban = UserBan.objects.get()
    assert (ban.user_id, ban.reason, ban.banned_by.username) == (bob.pk, "abuse", "root")
    assert not signed_in(victim)
    past = local_now() - timedelta(days=1)
    response = staff.post(
        f"{BANS}add/", {**data, "until_0": f"{past:%Y-%m-%d}", "until_1": f"{past:%H:%M:%S}"}
    )
    assert response.status_code == 200  # the form again: "A ban must end in the future."
    assert "must end in the future" in response.content.decode()
    response = staff.post(f"{BANS}add/", {**data, "until_0": "9999-12-31", "until_1": "23:59:59"})
    assert response.status_code == 200
    assert "before 9999-01-01" in response.content.decode()
    later = until + timedelta(days=5)  # banned again: the new ban replaces the old one
    again = {**data, "until_0": f"{later:%Y-%m-%d}", "until_1": f"{later:%H:%M:%S}"}
    response = staff.post(f"{BANS}add/", {**again, "reason": "abuse, again"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    ban = UserBan.objects.get()
    assert (ban.user_id, ban.reason) == (bob.pk, "abuse, again")
    assert banned_until(bob) == ban.until
    assert staff.post(f"{BANS}{ban.pk}/delete/", {"post": "yes"}).status_code == 302
    assert banned_until(bob) is None


def test_the_user_admin_bans_selected_users_after_asking_how_long(staff: Client, bob: User) -> None:
    root = User.objects.get(username="root")
    selected = {"action": "jwtsession_ban_users", "_selected_action": [bob.pk, root.pk]}
    page = staff.post(USERS, selected)
    assert page.status_code == 200
    assert "Ban for" in page.content.decode()
    assert not UserBan.objects.exists()
    response = staff.post(USERS, {**selected, "apply": "yes", "duration": "1d", "reason": "x"})
    assert response.status_code == 302
    assert list(UserBan.objects.values_list("user__username", flat=True)) == ["bob"]  # not you
    shown = staff.get(USERS).content.decode()
    assert "Banned 1 user." in shown
    assert "You cannot ban yourself." in shown


# -- the management command ------------------------------------------------------------------------


def test_the_ban_command_bans_until_a_time_and_lifts(bob: User) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    out = io.StringIO()
    call_command("jwtsession_ban", "bob", "--for", "2h", "--reason", "spam", stdout=out)
    assert out.getvalue().startswith("Banned 1 user(s) until ")
    assert not signed_in(client)  # its next request
    until = banned_until(bob)
    assert until is not None
    assert timedelta(hours=2) - timedelta(minutes=1) < until - timezone.now() <= timedelta(hours=2)
    assert UserBan.objects.get(user=bob).reason == "spam"
    record = SessionRecord.objects.get(user=bob)
    assert record.end_reason == "ban"
    with pytest.raises(SignInRefused):
        check_sign_in(bob)
    call_command("jwtsession_ban", "bob", "--until", "2999-01-31T18:00:00+00:00", stdout=out)
    expected = datetime(2999, 1, 31, 18, tzinfo=dt_timezone.utc)
    assert banned_until(bob) == (expected if settings.USE_TZ else timezone.make_naive(expected))
    out = io.StringIO()
    call_command("jwtsession_ban", str(bob.pk), "--lift", stdout=out)
    assert out.getvalue() == "Lifted 1 ban(s) of 1 user(s).\n"
    assert banned_until(bob) is None
    check_sign_in(bob)  # may sign in again


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["bob"], "Give how long"),
        (["bob", "--for", "2 hours"], "Not a duration"),
        (["bob", "--for", "0h"], "Not a duration"),
        (["bob", "--until", "tomorrow"], "Not a date and time"),
        (["bob", "--until", "2000-01-01T00:00:00+00:00"], "must end in the future"),
        (["bob", "--for", "1h", "--reason", "x" * 201], "at most 200 characters"),
        (["bob", "--for", "999999999w"], "Too long"),
        (["bob", "--for", "999999999d"], "before 9999-01-01"),
        (["bob", "--until", "9999-12-31T23:59:59-05:00"], "before 9999-01-01"),
        (["nobody", "--for", "1h"], "No user 'nobody'"),
    ],
)
def test_the_ban_command_says_what_is_wrong(bob: User, arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("jwtsession_ban", *arguments, stdout=io.StringIO())
    assert not UserBan.objects.exists()


def test_the_ban_command_takes_one_end_only(bob: User) -> None:
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("jwtsession_ban", "bob", "--for", "1h", "--lift", stdout=io.StringIO())
