"""``request.user`` from claims: no SQL for claims, the real user once for the rest."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import SynchronousOnlyOperation
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.test import Client, RequestFactory, override_settings
from django.test.utils import isolate_apps

from django_jwtsession.claims import Claims
from django_jwtsession.middleware import AuthenticationMiddleware, SessionMiddleware
from django_jwtsession.users import ClaimsUser
from tests.helpers import make_user
from tests.testapp.models import Note

User = get_user_model()

pytestmark = pytest.mark.usefixtures("strategy")

COOKIE = settings.SESSION_COOKIE_NAME


def request_for(client: Client) -> HttpRequest:
    """A request carrying ``client``'s cookies, through both middlewares' request phase."""
    factory = RequestFactory()
    factory.cookies = client.cookies
    request = factory.get("/")

    def get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    SessionMiddleware(get_response).process_request(request)
    AuthenticationMiddleware(get_response).process_request(request)
    return request


@pytest.fixture
def user(bob_client: Client) -> Any:
    user = request_for(bob_client).user
    assert type(user) is ClaimsUser
    return user


def test_claim_attributes_cost_no_sql(user: Any, bob: User, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert user.pk == bob.pk
        assert user.id == bob.id
        assert user.username == "bob"
        assert user.get_username() == "bob"
        assert user.is_active is True
        assert user.is_staff is False
        assert user.is_superuser is False
        assert user.is_authenticated is True
        assert user.is_anonymous is False
        assert user.roles == frozenset({"editor"})
        assert user.tier == "pro"
        assert user.flags == frozenset({"beta"})
        assert user.claims.user_id == str(bob.pk)
    assert not user.is_loaded


def test_staff_and_superuser_come_from_claims(db: None, django_assert_num_queries: Any) -> None:
    alice = make_user("alice", roles=("admin",), is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(alice)
    user = request_for(client).user
    with django_assert_num_queries(0):
        assert (user.is_staff, user.is_superuser, user.roles) == (True, True, {"admin"})
        assert user.tier == "free"  # DEFAULT_TIER: alice has no Plan


def test_other_attributes_load_the_real_user_once(
    user: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        assert user.email == "bob@example.com"
    with django_assert_num_queries(0):
        assert user.first_name == ""
        assert user.last_login is not None
        assert user.check_password("test-password")
        assert user.get_username() == "bob"
    assert user.is_loaded


def test_has_perm_loads_the_real_user(user: Any) -> None:
    assert user.has_perm("auth.add_user") is False
    assert user.is_loaded


def test_fk_assignment_costs_no_sql(user: Any, bob: User, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        note = Note(owner=user, text="first")
        other = Note(text="second")
        other.owner = user
    with django_assert_num_queries(2):
        note.save()
        other.save()
    assert not user.is_loaded
    assert list(Note.objects.filter(owner=bob).values_list("text", flat=True).order_by("pk")) == [
        "first",
        "second",
    ]


def test_fk_assignment_through_a_view(
    bob: User, bob_client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):  # the INSERT only
        response = bob_client.get("/note/")
    assert response.content.decode() == str(bob.pk)
    assert Note.objects.get().owner == bob


def test_isinstance_of_the_user_model(user: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert isinstance(user, User)
        assert isinstance(user, AbstractBaseUser)
        assert not isinstance(user, AnonymousUser)


def test_equality_and_hashing_against_the_real_user(
    user: Any, bob: User, bob_client: Client, django_assert_num_queries: Any
) -> None:
    carol = make_user("carol")
    with django_assert_num_queries(0):
        assert user == bob
        assert bob == user
        assert user != carol
        assert carol != user
        assert hash(user) == hash(bob)
        assert user in {bob}
        assert bob in {user}
        assert user == request_for(bob_client).user
        assert user != "bob"
    assert not user.is_loaded


def test_save_never_writes_stale_claims(user: Any, bob: User) -> None:
    User.objects.filter(pk=bob.pk).update(is_staff=True, is_superuser=True)
    user.first_name = "Robert"
    user.save()
    bob.refresh_from_db()
    assert (bob.first_name, bob.is_staff, bob.is_superuser) == ("Robert", True, True)


def test_save_without_changes_never_writes_stale_claims(user: Any, bob: User) -> None:
    User.objects.filter(pk=bob.pk).update(is_active=True, is_staff=True, username="robert")
    user.save()
    bob.refresh_from_db()
    assert (bob.username, bob.is_staff) == ("robert", True)


def test_copy_and_deepcopy(user: Any, bob: User, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        shallow, deep = copy.copy(user), copy.deepcopy(user)
        for duplicate in (shallow, deep):
            assert type(duplicate) is ClaimsUser
            assert duplicate == bob
            assert duplicate.roles == user.roles
            assert not duplicate.is_loaded
    assert user.email  # loads the real user
    for duplicate in (copy.copy(user), copy.deepcopy(user)):
        assert type(duplicate) is User
        assert duplicate == bob


def test_str_and_repr(user: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert str(user) == "bob"
        assert "bob" in repr(user)


def test_auser_returns_the_same_user(bob_client: Client) -> None:
    request = request_for(bob_client)
    assert async_to_sync(request.auser)() is request.user


@pytest.mark.django_db
def test_no_session_is_the_anonymous_user(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        request = request_for(Client())
        assert isinstance(request.user, AnonymousUser)


@pytest.mark.parametrize("change", ["delete", "deactivate"])
def test_real_user_gone_while_claims_are_fresh(user: Any, bob: User, change: str) -> None:
    """Behind the signals' back: loading the real user finds it gone, and from then on
    ``request.user`` is Django's ``AnonymousUser``, as Django's ``get_user()`` gives."""
    assert user.is_authenticated  # the claims answer
    if change == "delete":
        User.objects.filter(pk=bob.pk).delete()
    else:
        User.objects.filter(pk=bob.pk).update(is_active=False)
    assert user.has_perm("auth.view_user") is False  # loads the real user: gone
    assert user.is_authenticated is False
    assert user.is_anonymous is True
    assert isinstance(user, AnonymousUser)
    assert user.get_username() == ""
    with pytest.raises(AttributeError):
        user.email  # noqa: B018  (AnonymousUser has none, as with Django)


def test_real_user_gone_ends_the_session_through_a_view(bob: User, bob_client: Client) -> None:
    """Deactivated behind the signals' back (no mark): loading the real user ends it."""
    User.objects.filter(pk=bob.pk).update(is_active=False)
    response = bob_client.get("/permissions/")
    assert response.json() == {"allowed": False, "authenticated": False}
    assert response.cookies[COOKIE]["max-age"] == 0
    assert bob_client.get("/whoami/").json() == {"authenticated": False}


# -- async code -----------------------------------------------------------------------------------


def test_async_code_awaits_aload_before_other_attributes(
    bob_client: Client, django_assert_num_queries: Any
) -> None:
    request = request_for(bob_client)

    async def view() -> tuple[str, str]:
        user = await request.auser()
        with pytest.raises(SynchronousOnlyOperation, match="aload"):
            user.email  # noqa: B018  # a query: not from the event loop
        real = await user.aload()
        return real.email, user.email

    with django_assert_num_queries(1):
        assert async_to_sync(view)() == ("bob@example.com", "bob@example.com")
    assert request.user.is_loaded


@pytest.mark.needs_groups  # user permissions (PermissionsMixin)
def test_async_permission_methods_load_the_real_user(bob: User, bob_client: Client) -> None:
    app = User._meta.app_label
    view_user = Permission.objects.get(codename="view_user", content_type__app_label=app)
    bob.user_permissions.add(view_user)
    request = request_for(bob_client)

    async def view() -> tuple[Any, ...]:
        user = await request.auser()
        return (
            await user.ahas_perm(f"{app}.view_user"),
            await user.ahas_perm(f"{app}.delete_user"),
            await user.ahas_perms([f"{app}.view_user"]),
            await user.ahas_module_perms(app),
            await user.aget_all_permissions(),
        )

    assert async_to_sync(view)() == (True, False, True, True, {f"{app}.view_user"})
    assert request.user.is_loaded


def test_async_claim_attributes_cost_no_sql(
    bob_client: Client, django_assert_num_queries: Any
) -> None:
    request = request_for(bob_client)

    async def view() -> tuple[Any, ...]:
        user = await request.auser()
        return user.is_authenticated, user.username, user.is_staff, user.roles

    with django_assert_num_queries(0):
        assert async_to_sync(view)() == (True, "bob", False, frozenset({"editor"}))


# -- templates, queries and attribute probes ------------------------------------------------------


def test_template_reads_claims_without_sql(
    bob_client: Client, django_assert_num_queries: Any
) -> None:
    request = request_for(bob_client)
    template = engines["django"].from_string(
        "{% if user.is_authenticated %}{{ user.username }} {{ user.is_staff }} "
        "{{ user.no_such_attribute }}|{{ user }}{% endif %}"
    )
    with django_assert_num_queries(0):
        assert template.render({}, request) == "bob False |bob"
    assert not request.user.is_loaded


def test_filter_by_the_user_costs_no_user_query(
    user: Any, bob: User, django_assert_num_queries: Any
) -> None:
    Note.objects.create(owner=bob, text="mine")
    with django_assert_num_queries(0):
        notes = Note.objects.filter(owner=user)
    with django_assert_num_queries(1) as queries:
        assert [note.text for note in notes] == ["mine"]
    assert "auth_user" not in queries.captured_queries[0]["sql"]
    assert not user.is_loaded


def test_probes_for_missing_attributes_cost_no_sql(
    user: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert not hasattr(user, "resolve_expression")
        assert not hasattr(user, "__html__")
        assert not hasattr(user, "_prefetched_objects_cache")
        with pytest.raises(TypeError):
            user["username"]  # a model has no __getitem__
        assert "email" in dir(user)
        assert "roles" in dir(user)
    assert not user.is_loaded


@isolate_apps("tests.testapp")
def test_attributes_a_custom_init_sets_load_the_real_user() -> None:
    class Member(models.Model):
        USERNAME_FIELD = "name"
        name = models.CharField(max_length=20)

        class Meta:
            app_label = "testapp"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.shout = self.name.upper()

        def __str__(self) -> str:
            return self.name

    user: Any = ClaimsUser(Claims(user_id="7", username="ann"), Member, lambda: Member(7, "ann"))
    assert user.shout == "ANN"
    assert user.is_loaded


def test_attributes_set_on_the_user_read_back(user: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):  # kept until the real user loads (django-otp's way)
        user.seen_banner = True
        assert user.seen_banner is True
        assert not user.is_loaded
    assert user.email == "bob@example.com"  # loads the real user: the attribute moves there
    assert user.seen_banner is True
    assert user._wrapped.seen_banner is True
    assert hasattr(user, "resolve_expression") is False


# -- the real user: Django's get_user() checks ----------------------------------------------------


def test_password_changed_elsewhere_refuses_the_real_user(user: Any, bob: User) -> None:
    User.objects.filter(pk=bob.pk).update(password=make_password("changed-elsewhere"))
    assert user.has_perm("auth.view_user") is False
    assert isinstance(user, AnonymousUser)


class RefusingBackend(ModelBackend):
    """A backend whose ``get_user()`` refuses (e.g. users blocked by another system)."""

    def get_user(self, user_id: Any) -> None:
        return None


@override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.RefusingBackend"])
def test_the_backends_own_get_user_decides(bob: User) -> None:
    client = Client()
    assert client.login(username="bob", password="test-password")
    user = request_for(client).user
    assert user.is_authenticated  # the claims answer
    assert user.has_perm("auth.view_user") is False  # the backend's get_user() refuses
    assert isinstance(user, AnonymousUser)


# -- imports --------------------------------------------------------------------------------------


def test_modules_import_without_configured_settings() -> None:
    """Importing them needs neither settings nor the app registry (typing-only imports)."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = "import django_jwtsession.claims, django_jwtsession.refresh, django_jwtsession.users"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# -- setting and pickling, anonymous or not ---------------------------------------------------


@pytest.mark.django_db
def test_setting_an_attribute_on_an_anonymous_user_keeps_the_session(
    django_assert_num_queries: Any,
) -> None:
    client = Client()
    client.get("/set/?color=blue")  # an anonymous session with data
    request = request_for(client)
    with django_assert_num_queries(0):
        request.user.otp_device = None  # what django-otp's middleware does on every request
    assert request.user.is_anonymous
    assert request.session["color"] == "blue"
    assert not request.session.modified


@pytest.mark.django_db
def test_pickling_an_anonymous_user_keeps_the_session() -> None:
    import pickle

    client = Client()
    client.get("/set/?color=blue")
    request = request_for(client)
    assert pickle.loads(pickle.dumps(request.user)).is_anonymous  # noqa: S301
    assert request.session["color"] == "blue"


def test_setting_a_claim_attribute_loads_the_real_user_and_reads_back(user: Any) -> None:
    user.is_staff = True
    assert user.is_loaded
    assert user.is_staff is True


def test_a_user_found_gone_answers_nothing_from_its_old_claims(user: Any, bob: Any) -> None:
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    assert user.has_perm("x.y") is False  # loads the real user: gone
    assert user != bob
    assert (user.claims, user.tier) == (None, None)
    assert user.roles == user.flags == frozenset()
    assert "anonymous" in repr(user)
