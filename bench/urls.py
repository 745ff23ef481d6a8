"""The ``/whoami/``-style views each stack calls: JSON with id, username and roles."""

from __future__ import annotations

import os
import time
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)

ANONYMOUS = {"authenticated": False, "id": None, "username": None, "roles": []}


def _roles(user: Any, token: Any = None) -> list[str]:
    """Roles from the user's claims or token when it carries them, else from its groups."""
    roles = getattr(user, "roles", None)  # ClaimsUser, or simplejwt TokenUser (token claim)
    if roles is None and token is not None:
        roles = token.get("roles")  # simplejwt JWTAuthentication: roles in the token too
    if roles is None:
        roles = user.groups.values_list("name", flat=True)  # Django's stacks: one query
    return sorted(roles)


def _payload(user: Any, token: Any = None) -> dict[str, Any]:
    if not user.is_authenticated:
        return ANONYMOUS
    return {
        "authenticated": True,
        "id": user.pk,
        "username": user.get_username(),
        "roles": _roles(user, token),
    }


def bare(request: HttpRequest) -> JsonResponse:
    """Bare Django: no session, no user; a fixed anonymous answer."""
    return JsonResponse(ANONYMOUS)


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_payload(request.user))


def probe(request: HttpRequest) -> JsonResponse:
    """For bench/propagation.py: who answered, when, and what the session said."""
    return JsonResponse({**_payload(request.user), "pid": os.getpid(), "at": time.time()})


def mirror_status(request: HttpRequest) -> JsonResponse:
    """For bench/http_load.py and bench/propagation.py: this worker's pushed mirror."""
    from django_jwtsession import listener

    listener.ensure()
    return JsonResponse(listener.status())


class DRFBare(APIView):
    """A DRF APIView with no authentication: what DRF itself costs."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(ANONYMOUS)


class DRFWhoAmI(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(_payload(request.user, request.auth))


class SimpleJWTWhoAmI(DRFWhoAmI):
    authentication_classes = [JWTAuthentication]


class SimpleJWTStatelessWhoAmI(DRFWhoAmI):
    authentication_classes = [JWTStatelessUserAuthentication]


urlpatterns = [
    path("bare/", bare),
    path("whoami/", whoami),
    path("probe/", probe),
    path("mirror/", mirror_status),
    path("drf/bare/", DRFBare.as_view()),
    path("drf/simplejwt/", SimpleJWTWhoAmI.as_view()),
    path("drf/simplejwt-stateless/", SimpleJWTStatelessWhoAmI.as_view()),
]
