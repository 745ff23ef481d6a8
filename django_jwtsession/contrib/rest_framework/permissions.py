"""``HasRole``, ``HasSubscription``, ``HasFeature``: claims checks that cost no query.

Each reads its requirement from the view, and asks :mod:`django_jwtsession.access`
(role hierarchy, tier order, superuser rule)::

    class ReportView(APIView):
        permission_classes = [HasRole & (HasSubscription | HasFeature)]
        required_roles = ["editor"]      # every one; any_of("editor", "admin") for one of them
        required_tier = "pro"            # this tier or a higher one in TIER_ORDER
        required_flags = ["beta"]        # every one; any_of(...) for one of them

They compose with ``&``, ``|`` and ``~``. An anonymous request fails them, and DRF
answers 401 (``NotAuthenticated``, when the first authentication class sends a
``WWW-Authenticate`` header, as ``JWTSessionAuthentication`` does) or 403. The
object-level check is the same check, so ``~HasRole`` means the same for objects. A
refused request's 403 names what is missing (``detail``: "This needs the role editor.").

``HasFreshLogin`` asks for a recent sign-in (the view's ``fresh_login_max_age``, in
seconds): a session signed in longer ago gets a 401 with ``code`` ``"fresh_login_required"``
(:class:`FreshLoginRequired`). It refuses by raising, so combine it with ``&`` (or list it
in ``permission_classes``), not under ``|`` or ``~``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import ErrorDetail, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from ... import access
from ...clocks import login_is_fresh
from ...fresh_login import (
    CODE,
    IMPERSONATED,
    IMPERSONATED_MESSAGE,
    STEP_UP_ERROR,
    checked_max_age,
    requirement,
)
from ...guards import ClaimTest, flag_test, role_test, tier_test
from .authentication import current_session

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


def _requirement(view: APIView, attribute: str) -> Any:
    value = getattr(view, attribute, None)
    if not value:
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses a django_jwtsession permission but sets no {attribute!r}."
        )
    return value


def _names(view: APIView, attribute: str, deprecated: str) -> frozenset[str]:
    """The view's required roles or flags; its ``any_role`` / ``any_flag`` is deprecated."""
    names = _requirement(view, attribute)
    any_one = getattr(view, deprecated, None)
    if any_one is not None:
        warnings.warn(
            f"{type(view).__name__}.{deprecated} is deprecated: set "
            f"{attribute} = any_of(...) instead.",
            DeprecationWarning,
            stacklevel=2,
        )
    return access.wanted(names, any=bool(any_one), warn=False)


class _ClaimsPermission(BasePermission):
    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return bool(self.has_permission(request, view))

    def _refuse(self, test: ClaimTest) -> bool:
        """False, and the 403's ``detail`` names what the test needs."""
        self.message = f"This needs {test.requirement}."
        return False

    def _check(self, request: Request, test: ClaimTest) -> bool:
        return True if test(request.user) else self._refuse(test)


class HasRole(_ClaimsPermission):
    """The view's ``required_roles`` (every one, or one of ``any_of(...)``)."""

    message = "You do not have the role this needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return self._check(request, role_test(_names(view, "required_roles", "any_role")))


class HasSubscription(_ClaimsPermission):
    """The view's ``required_tier``, or a higher tier in ``TIER_ORDER``."""

    message = "Your subscription does not include this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return self._check(request, tier_test(_requirement(view, "required_tier")))


class HasFeature(_ClaimsPermission):
    """The view's ``required_flags`` (every one, or one of ``any_of(...)``)."""

    message = "This feature is not enabled for you."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return self._check(request, flag_test(_names(view, "required_flags", "any_flag")))


class FreshLoginRequired(NotAuthenticated):
    """A signed-in session whose sign-in is older than the view allows: sign in again.

    A 401 whose body carries ``detail``, ``code`` (``"fresh_login_required"``) and
    ``max_age``; its ``WWW-Authenticate`` is the authentication class's challenge with
    RFC 9470's ``error="insufficient_user_authentication"`` and ``max_age`` (REST framework
    answers 403 when the first authentication class sends no challenge).
    """

    default_code = CODE

    def __init__(self, max_age: int) -> None:
        super().__init__()
        self.max_age = max_age
        message = f"This needs {requirement(max_age)}: sign in again."
        body: Any = {"detail": ErrorDetail(message, CODE), "code": CODE, "max_age": max_age}
        self.detail = body  # the response's body as it is (max_age a number)
        self._challenge: str | None = None

    @property
    def auth_header(self) -> str | None:
        if not self._challenge:
            return None
        return f'{self._challenge}, error="{STEP_UP_ERROR}", max_age={self.max_age}'

    @auth_header.setter
    def auth_header(self, challenge: str | None) -> None:  # set by APIView.handle_exception()
        self._challenge = challenge


class HasFreshLogin(_ClaimsPermission):
    """The user signed in (or re-authenticated) at most the view's ``fresh_login_max_age``
    seconds ago: the cookie's session or the Bearer token's. No query."""

    message = "This needs a recent sign-in."

    def has_permission(self, request: Request, view: APIView) -> bool:
        max_age = checked_max_age(_requirement(view, "fresh_login_max_age"))
        if not request.user or not request.user.is_authenticated:
            return False  # DRF's NotAuthenticated (401) or 403, as for the others
        session = current_session(request)
        if session is not None and login_is_fresh(session.identity, max_age):
            return True
        if session is not None and session.actor is not None:
            raise PermissionDenied(IMPERSONATED_MESSAGE, IMPERSONATED)
        raise FreshLoginRequired(max_age)
