"""Impersonation: a user holding ``django_jwtsession.impersonate`` acts as another user in a
session that carries who is acting (``act``), at the same hot-path cost, refused by the
fresh-login guards, and goes back to themselves only while they still may. Under both
strategies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.auth.signals import user_logged_in
from django.test import Client, TestCase

from django_jwtsession.bans import ban_user
from django_jwtsession.impersonation_rules import PERMISSION
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord
from django_jwtsession.revocation import revoke_user
from django_jwtsession.signals import impersonation_ended, impersonation_started, session_ended
from tests.helpers import (
    PASSWORD,
    Clock,
    Configure,
    client_session_id,
    make_user,
    session_token,
    token_payload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]
COOKIE = settings.SESSION_COOKIE_NAME
User = get_user_model()
JSON = {"Accept": "application/json"}
STOP = "/impersonation/stop/"


def start_url(user: Any) -> str:
    return f"/impersonation/{user.pk}/start/"


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def whoami(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/whoami/").json()
    return data


def grant(user: Any) -> Any:
    """``user`` with the impersonation permission (per-user permissions: PermissionsMixin)."""
    user.user_permissions.add(
        Permission.objects.get(codename="impersonate", content_type__app_label="django_jwtsession")
    )
    return user


@pytest.fixture
def root(db: None) -> Any:
    """A superuser: holds every permission (in every user model variant)."""
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def impersonating(root: Any, bob: Any) -> Client:
    """``root`` acting as ``bob``."""
    client = signed_in("root")
    response = client.post(start_url(bob), {"next": "/whoami/", "return_to": "/admin/"})
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == "/whoami/"
    return client


# -- starting ------------------------------------------------------------------------------------


def test_starting_acts_as_the_user_in_a_session_that_says_who_acts(
    root: Any, bob: Any, strategy: str
) -> None:
    client = signed_in("root")
    root_session = client_session_id(client)
    root_cookie = client.cookies[COOKIE].value
    assert client.post(start_url(bob)).status_code == 302
    answer = whoami(client)
    assert answer["username"] == "bob"
    assert answer["impersonator"] == str(root.pk)
    payload = token_payload(session_token(client))
    assert payload["act"]["sub"] == str(root.pk)
    assert payload["act"]["un"] == "root"
    assert payload["clm"]["uid"] == str(bob.pk)
    record = SessionRecord.objects.get(session_hash=session_hash(client_session_id(client)))
    assert (str(record.user_id), str(record.actor_id), record.strategy) == (
        str(bob.pk),
        str(root.pk),
        strategy,
    )
    # the impersonator's own session ended: a copy of its cookie is anonymous
    replay = Client()
    replay.cookies[COOKIE] = root_cookie
    assert whoami(replay) == {"authenticated": False}
    assert SessionRecord.objects.get(session_hash=session_hash(root_session)).revoked_at


def test_an_impersonated_request_costs_no_query_and_one_round_trip(
    impersonating: Client, django_assert_num_queries: Any, cache_calls: list[str]
) -> None:
    whoami(impersonating)  # settled
    cache_calls.clear()
    with django_assert_num_queries(0):
        answer = whoami(impersonating)
    assert answer["username"] == "bob"
    assert answer["impersonator"]
    assert cache_calls == ["get_many"]


def test_the_banner_shows_who_acts_with_no_query(
    impersonating: Client, root: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        page = impersonating.get("/impersonation/banner/").content.decode()
    assert 'data-testid="impersonation-banner"' in page
    assert "Signed in as <strong" in page
    assert ">bob</strong>" in page
    assert ">root</strong>" in page
    assert f'action="{STOP}"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_no_banner_for_a_session_of_ones_own(bob: Any) -> None:
    assert signed_in("bob").get("/impersonation/banner/").content == b"[]"
    assert Client().get("/impersonation/banner/").content == b"[]"


def test_starting_is_no_sign_in_of_the_user(root: Any, bob: Any) -> None:
    """No user_logged_in (no last_login update, no sign-in hooks): impersonation_started."""
    logged_in: list[Any] = []
    started: list[dict[str, Any]] = []

    def on_login(sender: Any, **kwargs: Any) -> None:
        logged_in.append(kwargs["user"])

    def on_start(sender: Any, **kwargs: Any) -> None:
        started.append(kwargs)

    client = signed_in("root")
    user_logged_in.connect(on_login, dispatch_uid="test.on_login")
    impersonation_started.connect(on_start, dispatch_uid="test.on_start")
    try:
        client.post(start_url(bob))
    finally:
        user_logged_in.disconnect(dispatch_uid="test.on_login")
        impersonation_started.disconnect(dispatch_uid="test.on_start")
    assert logged_in == []
    bob.refresh_from_db()
    assert bob.last_login is None
    assert [(str(s["impersonator"].pk), s["user"].pk) for s in started] == [(str(root.pk), bob.pk)]


def test_every_start_and_stop_is_in_the_session_history(root: Any, bob: Any, strategy: str) -> None:
    """The impersonator's session gave way (``impersonation_start``), the impersonation
    carries its actor, and it ended ``impersonation_end`` by the impersonator."""
    ended: list[dict[str, Any]] = []

    def on_end(sender: Any, **kwargs: Any) -> None:
        ended.append(kwargs)

    client = signed_in("root")
    own = client_session_id(client)
    session_ended.connect(on_end, dispatch_uid="test.session_ended")
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            client.post(start_url(bob))
        acting = client_session_id(client)
        with TestCase.captureOnCommitCallbacks(execute=True):
            client.post(STOP)
    finally:
        session_ended.disconnect(dispatch_uid="test.session_ended")
    gave_way = SessionRecord.objects.get(session_hash=session_hash(own))
    assert (gave_way.end_reason, str(gave_way.ended_by_id)) == ("impersonation_start", str(root.pk))
    impersonation = SessionRecord.objects.get(session_hash=session_hash(acting))
    assert (str(impersonation.user_id), str(impersonation.actor_id)) == (str(bob.pk), str(root.pk))
    assert (impersonation.end_reason, str(impersonation.ended_by_id)) == (
        "impersonation_end",
        str(root.pk),
    )
    back = SessionRecord.objects.get(session_hash=session_hash(client_session_id(client)))
    assert (str(back.user_id), back.actor_id, back.revoked_at) == (str(root.pk), None, None)
    assert [(e["reason"], e["user_id"], e["by"]) for e in ended] == [
        ("impersonation_start", str(root.pk), str(root.pk)),
        ("impersonation_end", str(bob.pk), str(root.pk)),
    ]


def test_what_the_impersonator_ends_is_recorded_as_ended_by_them(
    impersonating: Client, root: Any, bob: Any
) -> None:
    """In an impersonation the impersonator acts, not the user: a revocation or a logout from
    it names the impersonator in the history ("by"), never the user."""
    laptop, phone = signed_in("bob"), signed_in("bob")
    laptop_id, phone_id = (session_hash(client_session_id(client)) for client in (laptop, phone))
    acting = session_hash(client_session_id(impersonating))
    assert impersonating.delete(f"/api/sessions/{laptop_id}/").status_code == 204
    assert impersonating.post("/api/sessions/revoke-others/").status_code == 204
    assert impersonating.post("/accounts/logout/").status_code in (200, 302)
    ended = {
        record.session_hash: (record.end_reason, str(record.ended_by_id))
        for record in SessionRecord.objects.filter(user=bob)
    }
    assert ended == {
        laptop_id: ("revoked_by_user", str(root.pk)),
        phone_id: ("revoked_by_user", str(root.pk)),
        acting: ("logout", str(root.pk)),
    }


def test_the_admin_session_list_says_who_acted(impersonating: Client, root: Any, bob: Any) -> None:
    """An "acted by" column (and field): the impersonator of an impersonation, else empty,
    fetched with the records (no query per row)."""
    signed_in("bob")  # a session of bob's own: nobody else acted in it
    staff = signed_in("root")
    changelist = "/admin/django_jwtsession/sessionrecord/"
    response = staff.get(changelist, {"q": "bob"})
    assert response.status_code == 200
    rows = {record.session_hash: record for record in response.context["cl"].result_list}
    acting = session_hash(client_session_id(impersonating))
    assert set(rows) >= {acting}
    model_admin = response.context["cl"].model_admin
    shown = {key: model_admin.acted_by(record) for key, record in rows.items()}
    assert shown.pop(acting) == "root"
    assert set(shown.values()) == {model_admin.get_empty_value_display()}
    page = response.content.decode()
    assert "acted by" in page.lower()
    change = staff.get(f"{changelist}{rows[acting].pk}/change/")
    assert change.status_code == 200
    after_label = change.content.decode().lower().split("acted by", 1)[1]
    assert '<div class="readonly">root</div>' in after_label[:300]


def test_an_impersonation_neither_counts_toward_nor_is_evicted_by_the_users_limit(
    impersonating: Client, configure: Configure
) -> None:
    configure(SESSION_LIMIT=1)
    signed_in("bob")  # bob's own sign-in: the limit is his own sessions
    assert whoami(impersonating)["username"] == "bob"


def test_a_banned_user_is_not_impersonated(root: Any, bob: Any) -> None:
    ban_user(bob, timedelta(hours=1))
    assert refused(signed_in("root"), start_url(bob))["code"] == "banned"


# -- refusals ------------------------------------------------------------------------------------


def refused(client: Client, url: str, data: Any = None) -> dict[str, Any]:
    response = client.post(url, data or {}, headers=JSON)
    assert response.status_code == 403, response.content[:300]
    answer: dict[str, Any] = response.json()
    return answer


def test_a_user_without_the_permission_is_refused(bob: Any) -> None:
    make_user("carol", is_staff=True)
    client = signed_in("carol")
    assert refused(client, start_url(bob))["code"] == "permission"
    assert client.post(start_url(bob)).status_code == 403  # the 403 page, not a 500
    assert whoami(client)["username"] == "carol"


def test_anonymous_requests_are_refused(bob: Any) -> None:
    assert refused(Client(), start_url(bob))["code"] == "anonymous"
    assert refused(Client(), STOP)["code"] == "not_impersonating"


def test_superusers_are_not_impersonated_by_default(root: Any, configure: Configure) -> None:
    make_user("boss", is_staff=True, is_superuser=True)
    boss = User._default_manager.get(**{User.USERNAME_FIELD: "boss"})
    client = signed_in("root")
    assert refused(client, start_url(boss))["code"] == "superuser"
    configure(IMPERSONATE_SUPERUSERS=True)
    assert client.post(start_url(boss)).status_code == 302
    assert whoami(client)["username"] == "boss"


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_only_superusers_impersonate_staff_or_superusers(bob: Any, configure: Configure) -> None:
    grant(make_user("alice", is_staff=True))
    staff = make_user("sam", is_staff=True)
    boss = make_user("boss", is_staff=True, is_superuser=True)
    configure(IMPERSONATE_SUPERUSERS=True)
    client = signed_in("alice")
    assert refused(client, start_url(staff))["code"] == "staff"
    assert refused(client, start_url(boss))["code"] == "superuser"
    assert client.post(start_url(bob)).status_code == 302
    assert whoami(client)["username"] == "bob"


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_a_user_holding_a_permission_the_impersonator_lacks_is_not_impersonated(
    root: Any, bob: Any
) -> None:
    """A non-staff user with more permissions than the impersonator: acting as them would
    give the impersonator what they do not hold."""
    grant(make_user("alice"))
    delete = Permission.objects.get(codename="delete_sessionrecord")
    bob.user_permissions.add(delete)
    client = signed_in("alice")
    refusal = refused(client, start_url(bob))
    assert refusal["code"] == "permissions"
    assert "bob holds permissions you do not" in refusal["detail"]
    assert whoami(client)["username"] == "alice"
    alice = User._default_manager.get(username="alice")
    alice.user_permissions.add(delete)  # she holds it too now: nothing gained
    client = signed_in("alice")
    assert client.post(start_url(bob)).status_code == 302
    assert whoami(client)["username"] == "bob"
    assert signed_in("root").post(start_url(bob)).status_code == 302  # superusers hold all


@pytest.mark.needs_groups
def test_a_user_given_more_than_the_impersonator_meanwhile_is_no_longer_acted_as(
    bob: Any, clock: Clock
) -> None:
    grant(make_user("alice"))
    client = signed_in("alice")
    assert client.post(start_url(bob)).status_code == 302
    bob.user_permissions.add(Permission.objects.get(codename="delete_sessionrecord"))
    clock.advance(301)  # the next claims rebuild (CLAIMS_TTL) checks the user too
    assert whoami(client) == {"authenticated": False}
    ended = SessionRecord.objects.get(user=bob)
    assert (ended.actor.username, ended.end_reason) == ("alice", "impersonation_end")


@pytest.mark.needs_groups
def test_a_user_made_staff_meanwhile_is_no_longer_acted_as_on_the_next_request(
    bob: Any,
) -> None:
    grant(make_user("alice"))
    client = signed_in("alice")
    assert client.post(start_url(bob)).status_code == 302
    bob.is_staff = True
    bob.save()  # marks bob: the impersonation's next request rebuilds its claims
    assert whoami(client) == {"authenticated": False}


def test_oneself_inactive_unknown_and_malformed_users_are_refused(root: Any) -> None:
    inactive = make_user("gone", is_active=False)
    client = signed_in("root")
    assert refused(client, start_url(root))["code"] == "self"
    assert refused(client, start_url(inactive))["code"] == "inactive"
    assert refused(client, "/impersonation/999999/start/")["code"] == "unknown"
    assert refused(client, "/impersonation/not-a-key/start/")["code"] == "unknown"
    assert whoami(client)["username"] == "root"


def test_nobody_impersonates_while_impersonating(impersonating: Client) -> None:
    make_user("carol")
    carol = User._default_manager.get(**{User.USERNAME_FIELD: "carol"})
    assert refused(impersonating, start_url(carol))["code"] == "already_impersonating"
    assert whoami(impersonating)["username"] == "bob"


def test_only_post_starts_or_stops(root: Any, bob: Any) -> None:
    client = signed_in("root")
    assert client.get(start_url(bob)).status_code == 405
    assert whoami(client)["username"] == "root"


def test_csrf_is_enforced(root: Any, bob: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="root", password=PASSWORD)
    assert client.post(start_url(bob)).status_code == 403
    assert whoami(client)["username"] == "root"


# -- the fresh-login guards ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/fresh/view/", "/fresh/async/", "/fresh/cbv/"])
def test_the_fresh_login_guards_refuse_an_impersonated_session(
    impersonating: Client, url: str
) -> None:
    response = impersonating.get(url)
    assert response.status_code == 403  # not the login page: nobody can sign in as bob here
    answer = impersonating.get(url, headers=JSON)
    assert answer.status_code == 403
    assert answer.json()["code"] == "impersonated"
    assert whoami(impersonating)["username"] == "bob"  # still impersonating


def test_the_rest_framework_fresh_login_permission_refuses_it(impersonating: Client) -> None:
    response = impersonating.get("/fresh/api/", headers=JSON)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("This page is not available while impersonating")


def test_signing_in_as_the_user_for_real_ends_the_acting(impersonating: Client) -> None:
    """The login form with bob's own password: bob signed in himself, nobody acts."""
    response = impersonating.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert "impersonator" not in whoami(impersonating)
    assert "act" not in token_payload(session_token(impersonating))
    assert impersonating.get("/fresh/view/").status_code == 200


# -- stopping -------------------------------------------------------------------------------------


def test_stopping_signs_the_impersonator_back_in_without_a_fresh_sign_in(
    root: Any, bob: Any, clock: Clock, configure: Configure
) -> None:
    configure(CLAIMS_TTL=7200)
    client = signed_in("root")
    own = token_payload(session_token(client))
    clock.advance(400)  # past the fresh guard's 5 minutes
    client.post(start_url(bob), {"return_to": "/admin/"})
    impersonated = client_session_id(client)
    impersonated_cookie = client.cookies[COOKIE].value
    response = client.post(STOP, {"user": str(bob.pk)})  # nothing posted decides who
    assert response.status_code == 302
    assert response["Location"] == "/admin/"  # where it started
    answer = whoami(client)
    assert answer["username"] == "root"
    assert "impersonator" not in answer
    back = token_payload(session_token(client))
    assert "act" not in back
    assert (back["sat"], back["aat"]) == (own["sat"], own["aat"])  # no fresh sign-in made
    assert client.get("/fresh/view/").status_code == 302  # still too old: sign in again
    record = SessionRecord.objects.get(session_hash=session_hash(impersonated))
    assert record.revoked_at is not None
    replay = Client()
    replay.cookies[COOKIE] = impersonated_cookie
    assert whoami(replay) == {"authenticated": False}


def test_stopping_sends_impersonation_ended(impersonating: Client, root: Any, bob: Any) -> None:
    ended: list[dict[str, Any]] = []

    def on_end(sender: Any, **kwargs: Any) -> None:
        ended.append(kwargs)

    impersonation_ended.connect(on_end, dispatch_uid="test.on_end")
    try:
        impersonating.post(STOP)
    finally:
        impersonation_ended.disconnect(dispatch_uid="test.on_end")
    assert [(e["impersonator_id"], e["user_id"], e["returned"]) for e in ended] == [
        (str(root.pk), str(bob.pk), True)
    ]


def test_stopping_when_not_impersonating_is_refused(bob: Any) -> None:
    client = signed_in("bob")
    assert refused(client, STOP)["code"] == "not_impersonating"
    assert whoami(client)["username"] == "bob"


def test_an_impersonator_who_lost_the_permission_is_signed_out_not_back(
    impersonating: Client, root: Any
) -> None:
    User._default_manager.filter(pk=root.pk).update(is_superuser=False)  # no signal, no mark
    response = impersonating.post(STOP)
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_URL
    assert whoami(impersonating) == {"authenticated": False}


def test_an_impersonator_whose_password_changed_is_signed_out_not_back(
    impersonating: Client, root: Any
) -> None:
    User._default_manager.filter(pk=root.pk).update(password="!changed-behind-the-signals")
    impersonating.post(STOP)
    assert whoami(impersonating) == {"authenticated": False}


def test_revoking_the_impersonators_sessions_ends_the_impersonation_at_once(
    impersonating: Client, root: Any
) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        revoke_user(root)
    assert whoami(impersonating) == {"authenticated": False}


def test_a_claims_refresh_checks_the_impersonator_again(
    impersonating: Client, root: Any, clock: Clock
) -> None:
    User._default_manager.filter(pk=root.pk).update(is_active=False)  # no signal, no mark
    assert whoami(impersonating)["username"] == "bob"  # the claims are fresh: not read yet
    clock.advance(301)  # past CLAIMS_TTL: the rebuild checks root too
    assert whoami(impersonating) == {"authenticated": False}


def test_a_claims_refresh_keeps_an_impersonator_who_still_may(
    impersonating: Client, clock: Clock
) -> None:
    clock.advance(301)
    assert whoami(impersonating)["username"] == "bob"
    assert "act" in token_payload(session_token(impersonating))


def test_an_impersonation_never_outlives_the_impersonators_lifetime(
    root: Any, bob: Any, clock: Clock, configure: Configure
) -> None:
    configure(MAX_LIFETIME=3600, CLAIMS_TTL=7200, UPDATE_AGE=7200)
    client = signed_in("root")
    own_start = token_payload(session_token(client))["sat"]
    clock.advance(3000)
    client.post(start_url(bob))
    assert token_payload(session_token(client))["exp"] <= own_start + 3600
    clock.advance(700)
    assert whoami(client) == {"authenticated": False}


# -- the admin action -----------------------------------------------------------------------------

ADMIN = f"/impersonation-admin/{User._meta.app_label}/{User._meta.model_name}/"


def run_action(client: Client, *users: Any) -> Any:
    data = {
        "action": "jwtsession_impersonate",
        "_selected_action": [str(user.pk) for user in users],
    }
    return client.post(ADMIN, data)


def test_the_admin_action_impersonates_the_selected_user(root: Any, bob: Any) -> None:
    client = signed_in("root")
    assert "jwtsession_impersonate" in client.get(ADMIN).content.decode()
    response = run_action(client, bob)
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert whoami(client)["username"] == "bob"
    back = client.post(STOP)
    assert back["Location"] == ADMIN  # the stop returns to the changelist
    assert whoami(client)["username"] == "root"


def test_the_admin_action_wants_exactly_one_allowed_user(root: Any, bob: Any) -> None:
    carol = make_user("carol")
    client = signed_in("root")
    response = run_action(client, bob, carol)
    assert response.status_code == 302
    messages = client.get(ADMIN).content.decode()
    assert "Select exactly one user to impersonate." in messages
    run_action(client, root)
    assert "You cannot impersonate yourself." in client.get(ADMIN).content.decode()
    assert whoami(client)["username"] == "root"


@pytest.mark.needs_groups  # per-user permissions (PermissionsMixin)
def test_the_admin_action_is_offered_only_with_the_permission(bob: Any) -> None:
    staff = make_user("sam", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_user"]))
    client = signed_in("sam")
    page = client.get(ADMIN)
    assert page.status_code == 200
    assert "jwtsession_impersonate" not in page.content.decode()
    assert run_action(client, bob).status_code in (200, 302)
    assert whoami(client)["username"] == "sam"
    grant(staff)
    assert "jwtsession_impersonate" in client.get(ADMIN).content.decode()
    assert PERMISSION == "django_jwtsession.impersonate"
