"""What the fresh-login guards share: is the sign-in recent enough, and the answer if not.

A step-up for sensitive pages (``fresh_login_required``, ``FreshLoginRequiredMixin``,
REST framework's ``HasFreshLogin``): a session whose user signed in more than ``max_age``
seconds ago is sent to sign in again — to the login page, with ``next`` to come back. It
stays signed in meanwhile, and signing in again as the same user keeps the session and
stamps its sign-in (``signed_in_at``, the ``aat`` wire key). A request that wants JSON
gets a 401 whose ``code`` is ``"fresh_login_required"``. It is decided from the session
alone (:func:`~django_jwtsession.clocks.login_is_fresh`): no query, no cache call.

An impersonated session is never fresh (its user never signed in to it, and the
impersonator cannot sign in as them): it gets a 403 saying so (JSON ``code``
``"impersonated"``), not the login page.

Not to be confused with ``fresh=True`` on the claim guards, which rebuilds the claims
from the database.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url

from .backends.base import ClaimsSessionBase
from .clocks import login_is_fresh
from .guards import login_redirect, wants_json

logger = logging.getLogger("django_jwtsession")

CODE = "fresh_login_required"
"""The ``code`` of a JSON answer (and of REST framework's error) for a sign-in too old."""
IMPERSONATED = "impersonated"
"""The ``code`` of the answer to an impersonated session: a 403, never a sign-in."""
IMPERSONATED_MESSAGE = "This page is not available while impersonating: stop impersonating first."
STEP_UP_ERROR = "insufficient_user_authentication"
"""RFC 9470's ``WWW-Authenticate`` error for "authenticate again, more recently"."""


def checked_max_age(max_age: object) -> int:
    """``max_age`` if it is a whole number of seconds above 0, else ``ValueError``."""
    if type(max_age) is not int or max_age <= 0:
        raise ValueError(f"max_age must be a number of seconds above 0, got {max_age!r}.")
    return max_age


def within(max_age: int) -> str:
    """``max_age`` for people: "5 minutes", "2 hours", "90 seconds"."""
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if max_age % seconds == 0:
            count = max_age // seconds
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{max_age} seconds"


def requirement(max_age: int) -> str:
    """What a guarded page needs, in words (the 403's message, the JSON ``detail``)."""
    return f"a sign-in within the last {within(max_age)}"


_warned_engine = False


def is_fresh(request: HttpRequest, max_age: int) -> bool:
    """Whether the request's session signed in at most ``max_age`` seconds ago.

    A session of another engine carries no sign-in time: never fresh (logged once).
    """
    global _warned_engine
    session = getattr(request, "session", None)
    if isinstance(session, ClaimsSessionBase):
        return login_is_fresh(session.identity, max_age)
    if not _warned_engine:
        _warned_engine = True
        logger.error(
            "jwtsession: a fresh-login guard needs django_jwtsession's session engine: "
            "every request it guards is sent to sign in again"
        )
    return False


def impersonated(request: HttpRequest) -> bool:
    """Whether the request's session is an impersonation (someone else acts in it)."""
    session = getattr(request, "session", None)
    return isinstance(session, ClaimsSessionBase) and session.actor is not None


def sign_in_again(
    request: HttpRequest, login_url: str | None, redirect_field_name: str | None, max_age: int
) -> HttpResponse:
    """The answer to a signed-in session whose sign-in is older than ``max_age``: the login
    page with ``next`` (the session stays signed in), or a JSON 401 for a request that
    wants JSON (``code``: ``"fresh_login_required"``). An impersonated session: a 403."""
    if impersonated(request):
        if wants_json(request):
            answer = {"detail": IMPERSONATED_MESSAGE, "code": IMPERSONATED}
            return JsonResponse(answer, status=403)
        raise PermissionDenied(IMPERSONATED_MESSAGE)
    redirect = login_redirect(request, login_url, redirect_field_name)
    if not wants_json(request):
        return redirect
    body = {
        "detail": f"This needs {requirement(max_age)}: sign in again.",
        "code": CODE,
        "max_age": max_age,
        "login_url": redirect.url,
    }
    response = JsonResponse(body, status=401)
    response["WWW-Authenticate"] = (
        f'Cookie form-action="{resolve_url(login_url or settings.LOGIN_URL)}", '
        f'cookie-name="{settings.SESSION_COOKIE_NAME}", '
        f'error="{STEP_UP_ERROR}", max_age={max_age}'
    )
    return response
