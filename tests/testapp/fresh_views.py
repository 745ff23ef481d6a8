"""Views behind the fresh-login guards, under ``/fresh/`` (``tests/test_fresh_login.py``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwtsession import FreshLoginRequiredMixin, RoleRequiredMixin, fresh_login_required
from django_jwtsession.contrib.rest_framework.authentication import JWTSessionAuthentication
from django_jwtsession.contrib.rest_framework.permissions import HasFreshLogin

MAX_AGE = 300


def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "username": request.user.get_username()})


@fresh_login_required(max_age=MAX_AGE)
def fresh(request: HttpRequest) -> HttpResponse:
    return ok(request)


@fresh_login_required(max_age=MAX_AGE)
async def async_fresh(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True, "username": (await request.auser()).get_username()})


@fresh_login_required(max_age=MAX_AGE, raise_exception=True)
def fresh_raise(request: HttpRequest) -> HttpResponse:
    return ok(request)


@fresh_login_required(max_age=MAX_AGE, login_url="/elsewhere/login/")
def fresh_login_url(request: HttpRequest) -> HttpResponse:
    return ok(request)


class OkView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return ok(request)


class AsyncOkView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        user = await request.auser()
        return JsonResponse({"ok": True, "username": user.get_username()})


class FreshView(FreshLoginRequiredMixin, OkView):
    fresh_login_max_age = MAX_AGE


class AsyncFreshView(FreshLoginRequiredMixin, AsyncOkView):
    fresh_login_max_age = MAX_AGE


class FreshRaiseView(FreshLoginRequiredMixin, OkView):
    fresh_login_max_age = MAX_AGE
    raise_exception = True


class FreshAdminView(FreshLoginRequiredMixin, RoleRequiredMixin, OkView):
    fresh_login_max_age = MAX_AGE
    required_roles = "admin"


class AsyncFreshAdminView(FreshLoginRequiredMixin, RoleRequiredMixin, AsyncOkView):
    fresh_login_max_age = MAX_AGE
    required_roles = "admin"


class NoMaxAgeView(FreshLoginRequiredMixin, OkView):
    pass


class FreshAPIView(APIView):
    authentication_classes = [JWTSessionAuthentication]
    permission_classes = [HasFreshLogin]
    fresh_login_max_age: Any = MAX_AGE
    required_roles = "admin"

    def get(self, request: Request) -> Response:
        return Response({"ok": True, "username": request.user.get_username()})
