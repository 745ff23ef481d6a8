"""The public API (docs/api.md): one home (the package root, lazily imported), one public
session id across the API, the REST endpoints, the admin, the commands and the signals, and
one spelling of "any of" (the old ones deprecated, still working)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import warnings
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import engines
from django.test import Client, RequestFactory

import django_jwtsession
from django_jwtsession import (
    RoleRequiredMixin,
    any_of,
    has_flag,
    has_role,
    revoke_session,
    revoke_sessions,
    role_required,
    session_revoked,
)
from django_jwtsession.models import SessionRecord
from django_jwtsession.revocation import revoke_session_hashes
from tests.helpers import PASSWORD, client_session_id, make_user, session_token

User = get_user_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("strategy")]

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_ID = re.compile(r"[0-9a-f]{64}")


# -- one home --------------------------------------------------------------------------------------


def test_every_public_name_resolves_from_the_package_root() -> None:
    for name in django_jwtsession.__all__:
        assert getattr(django_jwtsession, name) is not None, name
    assert set(django_jwtsession.__all__) <= set(dir(django_jwtsession))
    with pytest.raises(AttributeError, match="no attribute 'revoke_everything'"):
        django_jwtsession.revoke_everything  # noqa: B018


def test_the_api_page_documents_exactly_the_public_names() -> None:
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `(\w+)", page, re.M))
    assert documented == set(django_jwtsession.__all__) - {"__version__"}


def test_importing_the_package_is_cheap_and_safe_before_settings() -> None:
    """Nothing but the root is imported, and no settings are needed, until a name is used."""
    script = (
        "import sys, django_jwtsession as p; "
        "print(p.__version__, sorted(m for m in sys.modules if m.startswith('django_jwtsession')), "
        "'django.db' in sys.modules, 'django.conf' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1)[1].strip() == "['django_jwtsession'] False False"


def test_impersonation_is_public_at_the_package_root(bob: User) -> None:
    """start/stop, who acts, the refusal and the two signals, all from the root."""
    make_user("root", is_staff=True, is_superuser=True)
    heard: list[tuple[str, Any]] = []

    def started(sender: Any, user: Any, **kwargs: Any) -> None:
        heard.append(("started", user.get_username()))

    def ended(sender: Any, returned: bool, **kwargs: Any) -> None:
        heard.append(("ended", returned))

    django_jwtsession.impersonation_started.connect(started)
    django_jwtsession.impersonation_ended.connect(ended)
    try:
        client = sign_in("root")
        assert client.post(f"/impersonation/{bob.pk}/start/").status_code == 302
        answer = client.get("/whoami/").json()  # impersonator_id(), from the root
        assert (answer["username"], answer["impersonator"]) == (
            "bob",
            str(User.objects.get(username="root").pk),
        )
        assert client.post("/impersonation/stop/").status_code == 302
        assert client.get("/whoami/").json()["username"] == "root"
    finally:
        django_jwtsession.impersonation_started.disconnect(started)
        django_jwtsession.impersonation_ended.disconnect(ended)
    assert heard == [("started", "bob"), ("ended", True)]
    request = RequestFactory().post("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = User.objects.get(username="bob")
    with pytest.raises(django_jwtsession.ImpersonationRefused) as refused:
        django_jwtsession.stop_impersonation(request)
    assert refused.value.code == "not_impersonating"
    with pytest.raises(django_jwtsession.ImpersonationRefused) as refused:
        django_jwtsession.start_impersonation(request, request.user)
    assert refused.value.code == "engine"  # this session is not signed in (no identity)
    assert django_jwtsession.impersonator_id(request) is None


# -- one public session id -------------------------------------------------------------------------


def sign_in(username: str = "bob") -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def public_id_of(client: Client) -> str:
    session_id: str = client.get("/api/session/").json()["session"]["id"]
    return session_id


def test_one_public_id_in_the_api_the_sessions_list_and_the_admin(bob: User) -> None:
    client = sign_in()
    public_id = public_id_of(client)
    assert PUBLIC_ID.fullmatch(public_id)
    assert public_id not in session_token(client)  # never the cookie ...
    assert public_id != client_session_id(client)  # ... nor the secret id it is the hash of
    [listed] = client.get("/api/sessions/").json()
    assert (listed["id"], listed["current"]) == (public_id, True)
    make_user("root", is_staff=True, is_superuser=True)
    staff = Client()
    staff.force_login(User.objects.get(username="root"))
    changelist = staff.get("/admin/django_jwtsession/sessionrecord/", {"q": public_id})
    assert "1 session" in changelist.content.decode()


def test_revoke_session_takes_the_public_id_and_says_whether_it_was_live(bob: User) -> None:
    client, other = sign_in(), sign_in()
    public_id = public_id_of(client)
    assert revoke_session(public_id) is True
    assert client.get("/api/session/").json() == {"claims": None, "session": None}
    assert other.get("/api/session/").json()["session"] is not None  # only that one
    assert revoke_session(public_id) is False  # revoked already
    assert revoke_session("0" * 64) is False  # nobody's


@pytest.mark.parametrize("value", ["", "not-an-id", "A" * 64, "0" * 63, "0" * 65])
def test_a_value_that_cannot_be_a_public_id_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="Not a public session id"):
        revoke_session(value)


def test_the_secret_session_id_is_not_a_public_id(bob_client: Client) -> None:
    with pytest.raises(ValueError, match="64 lowercase hexadecimal digits"):
        revoke_session(client_session_id(bob_client))
    assert bob_client.get("/api/session/").json()["session"] is not None


def test_revoke_sessions_counts_the_live_ones_and_wants_a_list(bob: User) -> None:
    ids = [public_id_of(sign_in()) for _ in range(2)]
    assert revoke_sessions([*ids, "f" * 64]) == 2
    with pytest.raises(TypeError, match="revoke_session"):
        revoke_sessions(ids[0])


def test_the_signal_carries_the_public_id(
    bob: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in()
    public_id = public_id_of(client)
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    session_revoked.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.delete("/api/sessions/" + public_id + "/")  # my own: a logout
    finally:
        session_revoked.disconnect(receiver)
    assert [(e["scope"], e["session_ids"]) for e in received] == [("session", [public_id])]


def test_revoke_session_hashes_is_deprecated_and_still_works(bob: User) -> None:
    client = sign_in()
    with pytest.warns(DeprecationWarning, match="revoke_sessions"):
        assert revoke_session_hashes([public_id_of(client)]) == 1
    assert client.get("/api/session/").json()["session"] is None


def test_the_revoke_command_takes_public_ids_and_says_what_it_needs(bob: User) -> None:
    client = sign_in()
    with pytest.raises(CommandError, match="Name the sessions to end: usernames"):
        call_command("jwtsession_revoke")
    with pytest.raises(CommandError, match="not users and --all"):
        call_command("jwtsession_revoke", "bob", "--all")
    with pytest.raises(CommandError, match="Not a public session id"):
        call_command("jwtsession_revoke", "--session", "bob")
    with pytest.raises(CommandError, match="Revoked 0 of 1 session"):
        call_command("jwtsession_revoke", "--session", "0" * 64, stdout=io.StringIO())
    with pytest.raises(CommandError, match="Not an end reason"):
        call_command("jwtsession_revoke", "bob", "--reason", "Because!")
    out = io.StringIO()
    public_id = public_id_of(client)
    command = ("jwtsession_revoke", "--session", public_id, "--reason", "key_rotation")
    call_command(*command, stdout=out)
    assert out.getvalue() == "Revoked 1 session(s).\n"
    assert client.get("/api/session/").json()["session"] is None
    assert SessionRecord.objects.get(session_hash=public_id).end_reason == "key_rotation"


# -- one spelling of "any of" ----------------------------------------------------------------------


@pytest.fixture
def editor(db: None) -> Any:
    return make_user("eddie", roles=("editor",), tier="free", flags=("beta",))


def test_any_of_everywhere(editor: Any) -> None:
    assert has_role(editor, any_of("admin", "editor"))
    assert not has_role(editor, ["admin", "editor"])
    assert has_flag(editor, any_of(["beta", "early"]))
    assert repr(any_of("b", "a")) == "any_of('a', 'b')"
    with pytest.raises(ValueError, match="any_of"):
        any_of()
    template = engines["django"].from_string(
        '{% load jwtsession %}{{ user|has_role:"any_of:admin,editor" }} '
        '{{ user|has_role:"admin,editor" }} {{ user|has_flag:"any_of: early , beta" }}'
    )
    assert template.render({"user": editor}) == "True False True"


def test_the_deprecated_spellings_warn_and_still_work(editor: Any) -> None:
    with pytest.warns(DeprecationWarning, match=r"any_of\(\.\.\.\)"):
        decorated = role_required(["admin", "editor"], any=True)(lambda request: "ok")
    request = RequestFactory().get("/")
    request.user = editor
    assert decorated(request) == "ok"
    with pytest.warns(DeprecationWarning, match=r"Old.any_role is deprecated"):

        class Old(RoleRequiredMixin):
            required_roles = ["admin", "editor"]
            any_role = True

    assert Old().get_claims_tests()[0](editor)
    with pytest.warns(DeprecationWarning, match=r"has_any_role filter is deprecated"):
        rendered = (
            engines["django"]
            .from_string('{% load jwtsession %}{{ user|has_any_role:"admin,editor" }}')
            .render({"user": editor})
        )
    assert rendered == "True"
    with pytest.warns(DeprecationWarning, match="any="):
        assert has_role(editor, ["admin", "editor"], any=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert has_role(editor, any_of("admin", "editor"))  # the new spelling: no warning


# -- a refused request says what it needed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "needs"),
    [
        ("/guarded/role/admin/", "This page needs the role admin."),
        ("/guarded/role/all/", "This page needs the roles admin and editor."),
        ("/guarded/tier/pro/", "This page needs the tier pro or higher."),
        ("/guarded/flag/any/", "This page needs one of the flags beta, early."),
        ("/guarded/cbv/role/admin/", "This page needs the role admin."),
        ("/guarded/cbv/editor-beta/", "This page needs the flag beta."),
        ("/guarded/async/role/admin/", "This page needs the role admin."),
        ("/guarded/async/cbv/tier/pro/", "This page needs the tier pro or higher."),
        ("/guarded/cbv/role/raise/", "Admins only."),  # its own permission_denied_message
        ("/drf/admin/", "This needs the role admin."),
        ("/drf/enterprise/", "This needs the tier enterprise or higher."),
        ("/drf/beta-or-gamma/", "This needs one of the flags beta, gamma."),
    ],
)
def test_a_403_names_what_is_missing(path: str, needs: str, configure: Any) -> None:
    configure(TIER_ORDER=["free", "pro", "enterprise"])
    make_user("eve", roles=("editor",), tier="free")
    client = Client()
    client.force_login(User.objects.get(username="eve"))
    response = client.get(path)
    assert response.status_code == 403
    if path.startswith("/drf/"):
        assert response.json() == {"detail": needs}
    else:
        assert f'<p data-testid="forbidden">{needs}</p>' in response.content.decode()
