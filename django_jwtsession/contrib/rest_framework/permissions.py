"""``HasRole``, ``HasSubscription``, ``HasFeature``: claims checks that cost no query.

Each reads its requirement from the view, and asks :mod:`django_jwtsession.access`
(role hierarchy, tier order, superuser rule)::

    class ReportView(APIView):
        permission_classes = [HasRole & (HasSubscription | HasFeature)]
        required_roles = ["editor"]      # every one; ``any_role = True`` for any one
        required_tier = "pro"            # this tier or a higher one in TIER_ORDER
        required_flags = ["beta"]        # every one; ``any_flag = True`` for any one

They compose with ``&``, ``|`` and ``~``. An anonymous request fails them, and DRF
answers 401 (``NotAuthenticated``, when the first authentication class sends a
``WWW-Authenticate`` header, as ``JWTSessionAuthentication`` does) or 403. The
object-level check is the same check, so ``~HasRole`` means the same for objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from ... import access

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


class _ClaimsPermission(BasePermission):
    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return bool(self.has_permission(request, view))


class HasRole(_ClaimsPermission):
    """The view's ``required_roles`` (all of them, or any one with ``any_role = True``)."""

    message = "You do not have the role this needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        roles = _requirement(view, "required_roles")
        return access.has_role(request.user, roles, any=bool(getattr(view, "any_role", False)))


class HasSubscription(_ClaimsPermission):
    """The view's ``required_tier``, or a higher tier in ``TIER_ORDER``."""

    message = "Your subscription does not include this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return access.has_tier(request.user, _requirement(view, "required_tier"))


class HasFeature(_ClaimsPermission):
    """The view's ``required_flags`` (all of them, or any one with ``any_flag = True``)."""

    message = "This feature is not enabled for you."

    def has_permission(self, request: Request, view: APIView) -> bool:
        flags = _requirement(view, "required_flags")
        return access.has_flag(request.user, flags, any=bool(getattr(view, "any_flag", False)))
