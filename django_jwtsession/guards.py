"""What the decorators and mixins share: the claim tests, the anonymous answer, ``fresh``.

A test reads the claims through :mod:`django_jwtsession.access` (no query). An
anonymous request gets a redirect to the login page, or a JSON 401 when it wants
JSON (see :func:`wants_json`); a signed-in user who fails a test gets
``PermissionDenied`` (a 403). ``fresh=True`` rebuilds the claims from the database
first (:func:`fresh_user`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url

from . import access
from .backends.base import ClaimsSessionBase
from .claims import Claims, build_claims
from .users import ClaimsUser

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

logger = logging.getLogger("django_jwtsession")
Test = Callable[[Any], bool]
"""A check on a user (``request.user``, or the claims :func:`fresh_user` rebuilt). A test
may carry a ``requirement`` (what it needs, for people: "the role admin"), which the 403
names (:func:`denied`)."""

JSON_TYPES = ["text/html", "application/json"]  # ties (e.g. */*) go to HTML


def _required(names: str | Iterable[str], what: str) -> frozenset[str]:
    found = access.wanted(names)
    if not found or not all(isinstance(name, str) and name for name in found):
        raise ValueError(f"{what} must be a non-empty name or list of names, got {names!r}.")
    return found


def _listed(kind: str, names: frozenset[str]) -> str:
    """``the role admin``, ``the roles admin and editor``, ``one of the roles admin, editor``."""
    ordered = sorted(names)
    if len(ordered) == 1:
        return f"the {kind} {ordered[0]}"
    if isinstance(names, access.AnyOf):
        return f"one of the {kind}s {', '.join(ordered)}"
    return f"the {kind}s {', '.join(ordered[:-1])} and {ordered[-1]}"


@dataclass(frozen=True)
class ClaimTest:
    """A test on the claims, and what it needs in words (``requirement``)."""

    check: Callable[[Any], bool]
    requirement: str

    def __call__(self, user: Any) -> bool:
        return self.check(user)


def role_test(roles: str | Iterable[str]) -> ClaimTest:
    """Every one of ``roles`` (or one, for ``any_of``), with the hierarchy and superuser rule."""
    required = _required(roles, "roles")
    return ClaimTest(lambda user: access.has_role(user, required), _listed("role", required))


def tier_test(min_tier: str) -> ClaimTest:
    """The tier ``min_tier`` or a higher one in ``TIER_ORDER``."""
    if not isinstance(min_tier, str) or not min_tier:
        raise ValueError(f"min_tier must be a tier name, got {min_tier!r}.")
    requirement = f"the tier {min_tier} or higher"
    return ClaimTest(lambda user: access.has_tier(user, min_tier), requirement)


def flag_test(flags: str | Iterable[str]) -> ClaimTest:
    """Every one of the feature ``flags`` (or one, for ``any_of``)."""
    required = _required(flags, "flags")
    return ClaimTest(lambda user: access.has_flag(user, required), _listed("flag", required))


def denied(failed: Test | None) -> PermissionDenied:
    """The 403 for a signed-in user who failed ``failed``: its message names what is needed
    (Django's 403 view passes it to ``403.html`` as ``exception``)."""
    requirement = getattr(failed, "requirement", None)
    if requirement:
        return PermissionDenied(f"This page needs {requirement}.")
    return PermissionDenied("You do not have what this page needs.")


_warned_no_user = False


def user_of(request: HttpRequest) -> Any:
    """``request.user``; ``AnonymousUser`` when no authentication middleware set one.

    A guard on a site without ``AuthenticationMiddleware`` admits nobody and never fails
    with a 500; the misconfiguration is logged once (and flagged by the system checks).
    """
    global _warned_no_user
    user = getattr(request, "user", None)
    if user is not None:
        return user
    if not _warned_no_user:
        _warned_no_user = True
        logger.error(
            "jwtsession: a guard ran on a request without request.user: add "
            "django_jwtsession.middleware.AuthenticationMiddleware to MIDDLEWARE"
        )
    from django.contrib.auth.models import AnonymousUser  # needs the app registry

    return AnonymousUser()


async def auser_of(request: HttpRequest) -> Any:
    """``await request.auser()``, or :func:`user_of` without authentication middleware."""
    auser = getattr(request, "auser", None)
    return user_of(request) if auser is None else await auser()


def wants_json(request: HttpRequest) -> bool:
    """True when the request sent JSON or prefers ``application/json`` to ``text/html``."""
    if request.content_type == "application/json":
        return True
    return request.get_preferred_type(JSON_TYPES) == "application/json"


def login_redirect(
    request: HttpRequest, login_url: str | None, redirect_field_name: str | None
) -> HttpResponseRedirect:
    """Django's redirect to the login page, with the current URL as ``next``."""
    from django.contrib.auth.views import redirect_to_login  # needs the app registry

    path = request.build_absolute_uri()
    resolved = resolve_url(login_url or settings.LOGIN_URL)
    login_scheme, login_netloc = urlsplit(resolved)[:2]
    scheme, netloc = urlsplit(path)[:2]
    if login_scheme in ("", scheme) and login_netloc in ("", netloc):
        path = request.get_full_path()
    return redirect_to_login(path, resolved, redirect_field_name)


def not_authenticated(
    request: HttpRequest, login_url: str | None, redirect_field_name: str | None
) -> HttpResponse:
    """An anonymous request's answer: a JSON 401 when it wants JSON, else the login redirect."""
    redirect = login_redirect(request, login_url, redirect_field_name)
    if not wants_json(request):
        return redirect
    body = {"detail": "Authentication credentials were not provided.", "login_url": redirect.url}
    response = JsonResponse(body, status=401)
    # RFC 9110 asks a 401 for a challenge; this scheme (a cookie set by a login form) makes
    # no browser prompt for credentials.
    response["WWW-Authenticate"] = (
        f'Cookie form-action="{resolve_url(login_url or settings.LOGIN_URL)}", '
        f'cookie-name="{settings.SESSION_COOKIE_NAME}"'
    )
    return response


class FreshClaims:
    """What :func:`fresh_user` returns: a signed-in user's claims as the database has them now."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, claims: Claims) -> None:
        self.claims = claims


def fresh_user(request: HttpRequest) -> FreshClaims | AnonymousUser:
    """Claims rebuilt from the database now, for a check that must not trust the session.

    Costs the real user's load (one query, none if already loaded) and the provider's
    queries (one for the groups by default). When they differ from the session's
    claims, the session is refreshed too (``refresh_claims()``: its cookie is re-issued)
    and ``request.user`` answers the new claims. A session whose user is gone,
    inactive or whose password changed ends: the request is then anonymous.
    """
    from django.contrib.auth.models import AnonymousUser  # needs the app registry

    user: Any = user_of(request)
    if not user.is_authenticated:
        return AnonymousUser()
    real = _real_user(user)
    if not real.is_authenticated:  # the user is gone: the loader ended the session
        request.user = AnonymousUser()
        return AnonymousUser()
    claims = build_claims(real)
    session = getattr(request, "session", None)
    if not (isinstance(user, ClaimsUser) and isinstance(session, ClaimsSessionBase)):
        with suppress(AttributeError):  # no session claims: later checks read these (access.py)
            setattr(real, access._BUILT, claims)
        return FreshClaims(claims)
    if user.claims != claims:
        if not session.refresh_claims():  # ended meanwhile: the cookie is deleted
            request.user = AnonymousUser()
            return AnonymousUser()
        if session.claims is not None:
            claims = session.claims
            request.user = ClaimsUser(claims, get_user_model(), lambda: real)  # type: ignore[assignment]
    return FreshClaims(claims)


def _real_user(user: Any) -> Any:
    if isinstance(user, ClaimsUser):
        if not user.is_loaded:
            user._setup()
        return user._wrapped
    return user


def failing(user: Any, tests: Iterable[Test]) -> Test | None:
    """The first test ``user`` fails (None when every one passes). The user must be signed
    in (callers check first)."""
    for test in tests:
        if not test(user):
            return test
    return None


def passes(user: Any, tests: Iterable[Test]) -> bool:
    """Whether ``user`` is signed in and passes every test (no tests: nobody passes)."""
    tests = list(tests)
    if not tests or not getattr(user, "is_authenticated", False):
        return False  # a guard always requires a signed-in user, whatever its tests say
    return failing(user, tests) is None


async def apasses(user: Any, tests: Iterable[Test]) -> bool:
    """:func:`passes` for async code: inline when the claims answer, else in a thread."""
    if not user.is_authenticated or isinstance(getattr(user, "claims", None), Claims):
        return passes(user, tests)
    return await sync_to_async(passes)(user, tests)  # a user without claims: built with SQL
