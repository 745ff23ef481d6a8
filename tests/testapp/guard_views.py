"""Guarded views (decorators, mixins, template filters) for ``tests/test_guards.py``."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.views import View

from django_jwtsession import any_of
from django_jwtsession.access import claims_of
from django_jwtsession.decorators import feature_required, role_required, subscription_required
from django_jwtsession.mixins import (
    FeatureRequiredMixin,
    RoleRequiredMixin,
    SubscriptionRequiredMixin,
)


def ok(request: HttpRequest) -> JsonResponse:
    """What a guarded view answers: the roles the request's user has now (from the claims)."""
    claims = claims_of(request.user)
    return JsonResponse({"ok": True, "roles": sorted(claims.roles if claims else ())})


# -- decorators, sync ----------------------------------------------------------------------------


@role_required("admin")
def role_admin(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required("editor")
def role_editor(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required("viewer")
def role_viewer(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required(["admin", "editor"])
def role_all(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required(any_of("admin", "editor"))
def role_any(request: HttpRequest) -> HttpResponse:
    return ok(request)


@subscription_required("pro")
def tier_pro(request: HttpRequest) -> HttpResponse:
    return ok(request)


@subscription_required("platinum")
def tier_unknown(request: HttpRequest) -> HttpResponse:
    return ok(request)


@feature_required("beta")
def flag_beta(request: HttpRequest) -> HttpResponse:
    return ok(request)


@feature_required(["beta", "early"])
def flag_all(request: HttpRequest) -> HttpResponse:
    return ok(request)


@feature_required(any_of("beta", "early"))
def flag_any(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required("admin", raise_exception=True)
def role_raise(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required("admin", login_url="/elsewhere/login/")
def role_login_url(request: HttpRequest) -> HttpResponse:
    return ok(request)


@role_required("editor", fresh=True)
def role_editor_fresh(request: HttpRequest) -> HttpResponse:
    return ok(request)


@subscription_required("enterprise", fresh=True)
def tier_enterprise_fresh(request: HttpRequest) -> HttpResponse:
    return ok(request)


# -- decorators, async ---------------------------------------------------------------------------


async def aok(request: HttpRequest) -> JsonResponse:
    claims = await sync_to_async(claims_of)(await request.auser())
    return JsonResponse({"ok": True, "roles": sorted(claims.roles if claims else ())})


@role_required("admin")
async def async_role_admin(request: HttpRequest) -> HttpResponse:
    return await aok(request)


@subscription_required("pro")
async def async_tier_pro(request: HttpRequest) -> HttpResponse:
    return await aok(request)


@feature_required("beta")
async def async_flag_beta(request: HttpRequest) -> HttpResponse:
    return await aok(request)


@role_required("editor", fresh=True)
async def async_role_editor_fresh(request: HttpRequest) -> HttpResponse:
    return await aok(request)


# -- mixins --------------------------------------------------------------------------------------


class OkView(View):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return ok(request)


class AsyncOkView(View):
    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return await aok(request)


class RoleAdminView(RoleRequiredMixin, OkView):
    required_roles = "admin"


class RoleAnyView(RoleRequiredMixin, OkView):
    required_roles = any_of("admin", "editor")


class RoleFromUrlView(RoleRequiredMixin, OkView):
    def get_required_roles(self) -> str:
        return str(self.kwargs["role"])


class TierProView(SubscriptionRequiredMixin, OkView):
    required_tier = "pro"


class FlagBetaView(FeatureRequiredMixin, OkView):
    required_flags = "beta"


class FlagAnyView(FeatureRequiredMixin, OkView):
    required_flags = any_of("beta", "early")


class EditorWithBetaView(RoleRequiredMixin, FeatureRequiredMixin, OkView):
    required_roles = "editor"
    required_flags = "beta"


class RoleRaiseView(RoleRequiredMixin, OkView):
    required_roles = "admin"
    raise_exception = True
    permission_denied_message = "Admins only."


class RoleLoginUrlView(RoleRequiredMixin, OkView):
    required_roles = "admin"
    login_url = "/elsewhere/login/"


class RoleEditorFreshView(RoleRequiredMixin, OkView):
    required_roles = "editor"
    fresh = True


class AsyncRoleAdminView(RoleRequiredMixin, AsyncOkView):
    required_roles = "admin"


class AsyncTierProView(SubscriptionRequiredMixin, AsyncOkView):
    required_tier = "pro"


class AsyncFlagBetaView(FeatureRequiredMixin, AsyncOkView):
    required_flags = "beta"


class AsyncRoleEditorFreshView(RoleRequiredMixin, AsyncOkView):
    required_roles = "editor"
    fresh = True


class MissingRolesView(RoleRequiredMixin, OkView):
    pass


# A decorated async class-based view: the decorator keeps it async.
decorated_async_cbv = role_required("admin")(AsyncOkView.as_view())


# -- template filters ----------------------------------------------------------------------------

FILTERS_TEMPLATE = """{% load jwtsession %}
{% if request.user|has_role:"admin" %}role:admin {% endif %}
{% if request.user|has_role:"editor" %}role:editor {% endif %}
{% if request.user|has_role:"viewer" %}role:viewer {% endif %}
{% if user|has_role:"admin,editor" %}role:admin+editor {% endif %}
{% if user|has_role:"any_of:admin, editor" %}role:admin|editor {% endif %}
{% if user|has_tier:"pro" %}tier:pro {% endif %}
{% if user|has_tier:"enterprise" %}tier:enterprise {% endif %}
{% if user|has_flag:"beta" %}flag:beta {% endif %}
{% if user|has_flag:"beta,early" %}flag:beta+early {% endif %}
{% if user|has_flag:"any_of:beta,early" %}flag:beta|early {% endif %}
{% if user|has_role:"" %}role:empty {% endif %}
{% if missing|has_role:"admin" %}missing:admin {% endif %}
"""


def filters(request: HttpRequest) -> HttpResponse:
    """The filters that pass for the request's user, as space-separated words."""
    rendered = engines["django"].from_string(FILTERS_TEMPLATE).render(request=request)
    return HttpResponse(" ".join(rendered.split()))
