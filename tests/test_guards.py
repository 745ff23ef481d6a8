"""Guards: decorators, CBV mixins and template filters reading roles, tiers and flags from
the claims (no query), with the role hierarchy, the tier order and ``fresh=True``."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import Client, RequestFactory

from django_jwtsession.decorators import feature_required, role_required, subscription_required
from django_jwtsession.guards import wants_json
from tests.helpers import PASSWORD, Configure, make_user, refresh_queries, roles_of, set_roles
from tests.testapp import guard_views
from tests.testapp.models import Plan

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

HIERARCHY = {"admin": ["editor"], "editor": ["viewer"]}
TIERS = ["free", "pro", "enterprise"]
HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"HTTP_ACCEPT": "application/json"}
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _hierarchy_and_tiers(configure: Configure) -> None:
    configure(ROLE_HIERARCHY=HIERARCHY, TIER_ORDER=TIERS)


@pytest.fixture
def users(db: None) -> dict[str, User]:
    return {
        "bob": make_user("bob", roles=("editor",), tier="pro", flags=("beta",)),
        "carol": make_user("carol", tier="free"),
        "dana": make_user("dana", roles=("admin",), tier="free"),
        "erin": make_user("erin", tier="enterprise", flags=("early",)),
        "root": make_user("root", is_staff=True, is_superuser=True),  # no group, no subscription
    }


def signed_in(username: str) -> Client:
    """A client signed in as ``username``, past its first (possibly claim-building) request."""
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    assert client.get("/whoami/").json()["authenticated"] is True
    return client


def status(client: Client, url: str, **extra: Any) -> int:
    code: int = client.get(url, **extra).status_code
    return code


# -- every outcome, on every kind of view ---------------------------------------------------------

GUARDED = [
    # (url, a user who passes, a signed-in user who does not)
    ("/guarded/role/admin/", "dana", "bob"),
    ("/guarded/async/role/admin/", "dana", "bob"),
    ("/guarded/cbv/role/admin/", "dana", "bob"),
    ("/guarded/async/cbv/role/admin/", "dana", "bob"),
    ("/guarded/async/cbv/decorated/", "dana", "bob"),
    ("/guarded/tier/pro/", "bob", "carol"),
    ("/guarded/async/tier/pro/", "bob", "carol"),
    ("/guarded/cbv/tier/pro/", "bob", "carol"),
    ("/guarded/async/cbv/tier/pro/", "bob", "carol"),
    ("/guarded/flag/beta/", "bob", "carol"),
    ("/guarded/async/flag/beta/", "bob", "carol"),
    ("/guarded/cbv/flag/beta/", "bob", "carol"),
    ("/guarded/async/cbv/flag/beta/", "bob", "carol"),
]
URLS = [url for url, _, _ in GUARDED]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_html_request_is_redirected_to_the_login_page(db: None, url: str) -> None:
    for extra in (HTML, {}):  # a browser, or no Accept header at all
        response = Client().get(url, **extra)
        assert response.status_code == 302
        assert response["Location"] == f"{LOGIN}?next={url}"


@pytest.mark.parametrize("url", URLS)
def test_anonymous_json_request_gets_a_401(db: None, url: str) -> None:
    response = Client().get(url, **JSON)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "login_url": f"{LOGIN}?next={url}",
    }
    assert response["WWW-Authenticate"] == f'Cookie form-action="{LOGIN}", cookie-name="sessionid"'


@pytest.mark.parametrize(("url", "allowed", "denied"), GUARDED)
def test_signed_in_outcomes_cost_no_query(
    users: dict[str, User], url: str, allowed: str, denied: str, django_assert_num_queries: Any
) -> None:
    yes, no = signed_in(allowed), signed_in(denied)
    with django_assert_num_queries(0):
        response = yes.get(url)
        assert (response.status_code, response.json()["ok"]) == (200, True)
        assert status(no, url, **HTML) == 403
        assert status(no, url, **JSON) == 403  # signed in: a 403, not a 401


def test_anonymous_json_post_gets_a_401(db: None) -> None:
    response = Client().post("/guarded/role/admin/", {"a": 1}, content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("accept", "content_type", "expected"),
    [
        (None, None, False),
        ("*/*", None, False),
        ("text/html,application/xhtml+xml,*/*;q=0.8", None, False),
        ("application/json", None, True),
        ("application/json, text/html", None, True),
        ("text/html, application/json", None, False),
        ("application/json;q=0.5, text/html", None, False),
        ("text/html;q=0.5, application/json", None, True),
        ("application/*", None, True),
        ("image/png", None, False),
        (None, "application/json", True),
        ("text/html", "application/json", True),
        (None, "application/x-www-form-urlencoded", False),
    ],
)
def test_wants_json(accept: str | None, content_type: str | None, expected: bool) -> None:
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    if content_type:
        extra["CONTENT_TYPE"] = content_type
    assert wants_json(RequestFactory().get("/", **extra)) is expected


@pytest.mark.parametrize("url", ["/guarded/role/raise/", "/guarded/cbv/role/raise/"])
def test_raise_exception_gives_everyone_a_403(users: dict[str, User], url: str) -> None:
    assert status(Client(), url, **HTML) == 403
    assert status(Client(), url, **JSON) == 403
    assert status(signed_in("bob"), url) == 403
    assert status(signed_in("dana"), url) == 200


@pytest.mark.parametrize("url", ["/guarded/role/login-url/", "/guarded/cbv/role/login-url/"])
def test_login_url(db: None, url: str) -> None:
    assert Client().get(url)["Location"] == f"/elsewhere/login/?next={url}"
    assert Client().get(url, **JSON).json()["login_url"] == f"/elsewhere/login/?next={url}"


def test_mixin_permission_denied_message() -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with pytest.raises(PermissionDenied, match=r"^Admins only\.$"):
        guard_views.RoleRaiseView.as_view()(request)


# -- the view's shape: coroutine-ness, wraps, LoginRequiredMiddleware ----------------------------


def test_decorators_keep_sync_and_async_views_as_they_are() -> None:
    assert not iscoroutinefunction(guard_views.role_admin)
    assert inspect.iscoroutinefunction(guard_views.async_role_admin)
    assert iscoroutinefunction(guard_views.decorated_async_cbv)  # a marked sync function
    assert guard_views.role_admin.__name__ == "role_admin"
    assert guard_views.async_role_admin.__wrapped__.__name__ == "async_role_admin"
    assert iscoroutinefunction(guard_views.AsyncRoleAdminView.as_view())
    assert not iscoroutinefunction(guard_views.RoleAdminView.as_view())


def test_guarded_views_tell_login_required_middleware_they_answer_anonymous_requests() -> None:
    view = guard_views.role_login_url
    assert (view.login_required, view.login_url, view.redirect_field_name) == (
        False,
        "/elsewhere/login/",
        "next",
    )
    assert guard_views.role_admin.login_url is None
    assert guard_views.RoleAdminView.as_view().login_required is False


@pytest.fixture
def login_required_middleware(settings: Any) -> None:
    middleware = list(settings.MIDDLEWARE)
    auth = middleware.index("django_jwtsession.middleware.AuthenticationMiddleware")
    middleware.insert(auth + 1, "django.contrib.auth.middleware.LoginRequiredMiddleware")
    settings.MIDDLEWARE = middleware


@pytest.mark.usefixtures("login_required_middleware")
def test_under_login_required_middleware(users: dict[str, User]) -> None:
    anonymous = Client()
    # The middleware guards every other view...
    assert anonymous.get("/whoami/")["Location"] == f"{LOGIN}?next=/whoami/"
    # ...and leaves guarded views their own answer: a 401 for JSON, their login_url.
    for url in ("/guarded/role/admin/", "/guarded/cbv/role/admin/", "/guarded/async/role/admin/"):
        assert anonymous.get(url, **HTML)["Location"] == f"{LOGIN}?next={url}"
        assert status(anonymous, url, **JSON) == 401
    for url in ("/guarded/role/login-url/", "/guarded/cbv/role/login-url/"):
        assert anonymous.get(url, **HTML)["Location"] == f"/elsewhere/login/?next={url}"
    assert status(anonymous, "/guarded/role/raise/") == 403
    dana, bob = signed_in("dana"), signed_in("bob")
    assert status(dana, "/guarded/role/admin/") == 200
    assert status(bob, "/guarded/role/admin/") == 403
    assert status(bob, "/guarded/async/cbv/tier/pro/") == 200


# -- roles: hierarchy, all or any, superusers -------------------------------------------------


def test_role_hierarchy_is_transitive(users: dict[str, User]) -> None:
    dana, bob, carol = signed_in("dana"), signed_in("bob"), signed_in("carol")
    for url in ("/guarded/role/admin/", "/guarded/role/editor/", "/guarded/role/viewer/"):
        assert status(dana, url) == 200, url
    assert status(bob, "/guarded/role/editor/") == 200
    assert status(bob, "/guarded/role/viewer/") == 200
    assert status(bob, "/guarded/role/admin/") == 403
    assert status(carol, "/guarded/role/viewer/") == 403
    assert signed_in("dana").get("/guarded/role/admin/").json()["roles"] == ["admin"]


def test_without_a_hierarchy_a_role_implies_no_other(
    users: dict[str, User], configure: Configure
) -> None:
    configure(ROLE_HIERARCHY={})
    dana = signed_in("dana")
    assert status(dana, "/guarded/role/admin/") == 200
    assert status(dana, "/guarded/role/editor/") == 403


def test_all_roles_or_any_role(users: dict[str, User]) -> None:
    bob, dana, carol = signed_in("bob"), signed_in("dana"), signed_in("carol")
    assert status(bob, "/guarded/role/all/") == 403  # editor, not admin
    assert status(bob, "/guarded/role/any/") == 200
    assert status(bob, "/guarded/cbv/role/any/") == 200
    assert status(dana, "/guarded/role/all/") == 200  # admin, and editor through admin
    assert status(carol, "/guarded/role/any/") == 403
    assert status(carol, "/guarded/cbv/role/any/") == 403


def test_superuser_has_every_role_but_no_tier_or_flag(users: dict[str, User]) -> None:
    root = signed_in("root")
    assert status(root, "/guarded/role/admin/") == 200
    assert status(root, "/guarded/role/all/") == 200
    assert status(root, "/guarded/cbv/role/admin/") == 200
    assert status(root, "/guarded/tier/pro/") == 403
    assert status(root, "/guarded/flag/beta/") == 403


def test_superuser_roles_can_be_switched_off(users: dict[str, User], configure: Configure) -> None:
    configure(SUPERUSER_HAS_ALL_ROLES=False)
    assert status(signed_in("root"), "/guarded/role/admin/") == 403


def test_get_required_roles_override(users: dict[str, User]) -> None:
    bob = signed_in("bob")
    assert status(bob, "/guarded/cbv/role/editor/from-url/") == 200
    assert status(bob, "/guarded/cbv/role/admin/from-url/") == 403


def test_mixin_without_requirement_is_misconfigured(users: dict[str, User]) -> None:
    with pytest.raises(ImproperlyConfigured, match="missing the required_roles attribute"):
        signed_in("bob").get("/guarded/cbv/missing/")


def test_combined_mixins_need_both(users: dict[str, User]) -> None:
    assert status(signed_in("bob"), "/guarded/cbv/editor-beta/") == 200
    assert status(signed_in("dana"), "/guarded/cbv/editor-beta/") == 403  # editor, no beta
    assert status(signed_in("erin"), "/guarded/cbv/editor-beta/") == 403  # no role
    assert Client().get("/guarded/cbv/editor-beta/")["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    "make",
    [
        lambda: role_required([]),
        lambda: role_required(""),
        lambda: feature_required(()),
        lambda: subscription_required(""),
    ],
)
def test_empty_requirements_are_refused(make: Any) -> None:
    with pytest.raises(ValueError, match="must be a"):
        make()


# -- tiers and flags ----------------------------------------------------------------------------


def test_tier_order(users: dict[str, User]) -> None:
    assert status(signed_in("erin"), "/guarded/tier/pro/") == 200  # enterprise > pro
    assert status(signed_in("erin"), "/guarded/cbv/tier/pro/") == 200
    assert status(signed_in("bob"), "/guarded/tier/pro/") == 200
    assert status(signed_in("carol"), "/guarded/tier/pro/") == 403
    assert status(signed_in("root"), "/guarded/tier/pro/") == 403  # DEFAULT_TIER "free"


def test_without_a_tier_order_only_that_tier_passes(
    users: dict[str, User], configure: Configure
) -> None:
    configure(TIER_ORDER=())
    assert status(signed_in("bob"), "/guarded/tier/pro/") == 200
    assert status(signed_in("erin"), "/guarded/tier/pro/") == 403


def test_a_tier_missing_from_the_order_is_misconfigured(users: dict[str, User]) -> None:
    with pytest.raises(ImproperlyConfigured, match="'platinum' is not in"):
        signed_in("bob").get("/guarded/tier/unknown/")


def test_all_flags_or_any_flag(users: dict[str, User]) -> None:
    bob, erin, carol = signed_in("bob"), signed_in("erin"), signed_in("carol")
    assert status(bob, "/guarded/flag/all/") == 403
    assert status(bob, "/guarded/flag/any/") == 200
    assert status(erin, "/guarded/flag/any/") == 200
    assert status(erin, "/guarded/cbv/flag/any/") == 200
    assert status(carol, "/guarded/flag/any/") == 403
    Plan.objects.filter(user=users["bob"]).update(flags=["beta", "early"])
    assert status(signed_in("bob"), "/guarded/flag/all/") == 200


# -- template filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        (None, ""),
        ("carol", ""),
        ("bob", "role:editor role:viewer role:admin|editor tier:pro flag:beta flag:beta|early"),
        ("dana", "role:admin role:editor role:viewer role:admin+editor role:admin|editor"),
        ("erin", "tier:pro tier:enterprise flag:beta|early"),
        ("root", "role:admin role:editor role:viewer role:admin+editor role:admin|editor"),
    ],
)
def test_template_filters_cost_no_query(
    users: dict[str, User], username: str | None, expected: str, django_assert_num_queries: Any
) -> None:
    client = signed_in(username) if username else Client()
    with django_assert_num_queries(0):
        response = client.get("/guarded/filters/")
    assert response.content.decode() == expected


# -- fresh=True: the database, not the session, decides -----------------------------------------

FRESH = [
    "/guarded/role/editor/fresh/",
    "/guarded/async/role/editor/fresh/",
    "/guarded/cbv/role/editor/fresh/",
    "/guarded/async/cbv/role/editor/fresh/",
]


def drop_role(user: User, role: str) -> None:
    """Remove a role with no signal: the session's claims go stale."""
    set_roles(user, [name for name in roles_of(user) if name != role], signal=False)


@pytest.mark.parametrize("url", FRESH)
def test_fresh_costs_the_user_and_its_roles_and_reissues_nothing(
    users: dict[str, User], url: str, django_assert_num_queries: Any
) -> None:
    bob = signed_in("bob")
    with django_assert_num_queries(2):  # the user (with its plan), its roles
        response = bob.get(url)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies  # the claims were right: nothing to re-issue


@pytest.mark.parametrize("url", FRESH)
def test_fresh_catches_a_role_removed_without_a_signal(
    users: dict[str, User], url: str, django_assert_num_queries: Any
) -> None:
    bob = signed_in("bob")
    drop_role(users["bob"], "editor")
    with django_assert_num_queries(0):
        assert status(bob, "/guarded/role/editor/") == 200  # the claims are stale
    assert status(bob, url) == 403
    # The session was refreshed on the way (the db strategy refills its cache entry once)...
    assert bob.get("/whoami/").json()["roles"] == []
    with django_assert_num_queries(0):  # ...so the next checks know, at no cost
        assert status(bob, "/guarded/role/editor/") == 403


@pytest.mark.parametrize("url", FRESH)
def test_fresh_allows_a_role_granted_without_a_signal(users: dict[str, User], url: str) -> None:
    carol = signed_in("carol")
    set_roles(users["carol"], ["editor"], signal=False)
    assert status(carol, "/guarded/role/editor/") == 403  # the claims are stale
    response = carol.get(url)
    assert response.status_code == 200
    assert response.json()["roles"] == ["editor"]  # request.user answers the new claims
    assert carol.get("/whoami/").json()["roles"] == ["editor"]


def test_fresh_tier(users: dict[str, User]) -> None:
    bob = signed_in("bob")
    assert status(bob, "/guarded/tier/enterprise/fresh/") == 403
    Plan.objects.filter(user=users["bob"]).update(tier="enterprise")  # no signal
    # The check (the user, its roles), the session's refresh (the same again), its record.
    with refresh_queries(claims=4, records=1):
        assert status(bob, "/guarded/tier/enterprise/fresh/") == 200
    assert bob.get("/whoami/").json()["tier"] == "enterprise"


@pytest.mark.parametrize("url", FRESH)
def test_fresh_ends_the_session_of_a_user_deactivated_without_a_signal(
    users: dict[str, User], url: str
) -> None:
    bob = signed_in("bob")
    User.objects.filter(pk=users["bob"].pk).update(is_active=False)
    response = bob.get(url, **HTML)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"
    assert bob.get("/whoami/").json() == {"authenticated": False}


def test_fresh_anonymous_is_redirected_without_a_query(
    db: None, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        for url in FRESH:
            assert Client().get(url)["Location"] == f"{LOGIN}?next={url}"
            assert status(Client(), url, **JSON) == 401


# -- with Django's own session engine and middleware ----------------------------------------------


@pytest.fixture
def django_sessions(settings: Any) -> None:
    ours = {
        "django_jwtsession.middleware.SessionMiddleware": (
            "django.contrib.sessions.middleware.SessionMiddleware"
        ),
        "django_jwtsession.middleware.AuthenticationMiddleware": (
            "django.contrib.auth.middleware.AuthenticationMiddleware"
        ),
    }
    settings.MIDDLEWARE = [ours.get(name, name) for name in settings.MIDDLEWARE]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"


@pytest.mark.strategies("jwt")
@pytest.mark.usefixtures("django_sessions")
def test_guards_work_without_our_session_engine(users: dict[str, User]) -> None:
    """``request.user`` is Django's ``User``: the claims are built from the database."""
    bob = Client()
    assert bob.login(username="bob", password=PASSWORD)
    for url in ("/guarded/role/editor/", "/guarded/async/tier/pro/", "/guarded/cbv/flag/beta/"):
        assert bob.get(url).status_code == 200, url
    for url in ("/guarded/role/admin/", "/guarded/async/role/admin/", "/guarded/cbv/role/admin/"):
        assert bob.get(url).status_code == 403, url
    assert Client().get("/guarded/async/role/admin/", **JSON).status_code == 401
    filters = bob.get("/guarded/filters/").content.decode()
    assert filters == "role:editor role:viewer role:admin|editor tier:pro flag:beta flag:beta|early"
    drop_role(users["bob"], "editor")
    for url in FRESH:
        assert bob.get(url).status_code == 403, url
    carol = Client()
    assert carol.login(username="carol", password=PASSWORD)
    set_roles(users["carol"], ["editor"], signal=False)
    for url in FRESH:
        response = carol.get(url)
        assert (response.status_code, response.json()["roles"]) == (200, ["editor"]), url


def test_a_guard_never_lets_an_anonymous_request_in(db: None) -> None:
    """Whatever its tests say (one that passes everybody, or none at all)."""
    from django_jwtsession.decorators import claims_passes_test
    from django_jwtsession.guards import passes

    @claims_passes_test(lambda user: True)
    def view(request: Any) -> Any:
        raise AssertionError("reached")

    request = RequestFactory().get("/anything/")
    request.user = AnonymousUser()
    assert view(request).status_code == 302
    assert passes(AnonymousUser(), [lambda user: True]) is False
    assert passes(User(username="someone"), []) is False  # no test: nobody passes
