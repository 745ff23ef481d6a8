"""REST framework views the DRF tests drive, and the session API under ``/api/``."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwtsession import any_of
from django_jwtsession.contrib.rest_framework.authentication import JWTSessionAuthentication
from django_jwtsession.contrib.rest_framework.permissions import (
    HasFeature,
    HasRole,
    HasSubscription,
)


class Echo(APIView):
    """Who the request is, and how it was authenticated; POST/DELETE for CSRF tests."""

    authentication_classes = [JWTSessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Any) -> Response:
        return Response(
            {
                "username": request.user.get_username(),
                "bearer": request.auth is not None,
                "roles": sorted(request.user.roles),
            }
        )

    def post(self, request: Any) -> Response:
        return self.get(request)

    def delete(self, request: Any) -> Response:
        return self.get(request)


class Guarded(APIView):
    """``permission_classes`` and requirements come from ``as_view(...)``; GET checks the
    view, POST also checks an object (so ``~`` is tested at both levels)."""

    authentication_classes = [JWTSessionAuthentication]
    required_roles: Any = "editor"
    required_tier: Any = "pro"
    required_flags: Any = "beta"

    def get(self, request: Any) -> Response:
        return Response({"ok": True})

    def post(self, request: Any) -> Response:
        self.check_object_permissions(request, object())
        return Response({"ok": True})


def guarded(name: str, permission: Any, **attributes: Any) -> Any:
    return path(
        f"drf/{name}/",
        Guarded.as_view(permission_classes=[permission], **attributes),
    )


urlpatterns = [
    path("api/", include("django_jwtsession.contrib.rest_framework.urls")),
    path("drf/echo/", Echo.as_view()),
    guarded("editor", HasRole),
    guarded("admin", HasRole, required_roles="admin"),
    guarded("admin-and-editor", HasRole, required_roles=["admin", "editor"]),
    guarded("admin-or-editor", HasRole, required_roles=any_of("admin", "editor")),
    guarded("pro", HasSubscription),
    guarded("enterprise", HasSubscription, required_tier="enterprise"),
    guarded("beta", HasFeature),
    guarded("beta-or-gamma", HasFeature, required_flags=any_of("gamma", "beta")),
    guarded("beta-and-gamma", HasFeature, required_flags=["gamma", "beta"]),
    guarded("admin-and-beta", HasRole & HasFeature, required_roles="admin"),
    guarded("admin-or-beta", HasRole | HasFeature, required_roles="admin"),
    guarded("editor-and-pro", HasRole & HasSubscription),
    guarded("not-beta", ~HasFeature),
    guarded("no-requirement", HasRole, required_roles=None),
]
