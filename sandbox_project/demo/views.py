"""Sandbox views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from django_jwtsession import (
    banned_until,
    claims_passes_test,
    impersonator_id,
    mark_for_refresh,
    revoke_user,
)
from django_jwtsession.conf import get_settings
from django_jwtsession.timestamps import iso

from .forms import UserAccessForm
from .session_info import public_session_id, session_facts

USERS_PER_PAGE = 50


def whoami_payload(request: HttpRequest) -> dict[str, object]:
    """Who is signed in, from the claims (no query); ``session_id`` is the session's public id."""
    user = request.user
    strategy = get_settings().strategy
    if not user.is_authenticated:
        return {
            "authenticated": False,
            "id": None,
            "username": None,
            "roles": [],
            "tier": None,
            "flags": [],
            "strategy": strategy,
        }
    claims = getattr(user, "claims", None)
    return {
        "authenticated": True,
        "id": user.pk,
        "username": user.get_username(),
        "roles": sorted(claims.roles)
        if claims
        else sorted(user.groups.values_list("name", flat=True)),
        "tier": claims.tier
        if claims
        else getattr(getattr(user, "subscription", None), "tier", None),
        "flags": sorted(claims.flags)
        if claims
        else list(getattr(getattr(user, "subscription", None), "flags", [])),
        "strategy": strategy,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "claims_at": iso(getattr(request.session, "claims_at", None)),  # as the API gives it
        "session_id": public_session_id(request),
        "impersonator_id": impersonator_id(request),  # who acts, when impersonated (no query)
    }


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(whoami_payload(request))


def home(request: HttpRequest) -> HttpResponse:
    """Who am I: the claims, the strategy, the token's size and the claims' age."""
    context = {
        "me": whoami_payload(request),
        "facts": session_facts(request),
        "claims_ttl": get_settings().claims_ttl,
    }
    return render(request, "demo/home.html", context)


# -- staff pages: change a user's roles, tier and flags; their next request shows it -----------
# Staff only, plus Django's user permissions, as in the admin: ``auth.view_user`` to list,
# ``auth.change_user`` to change. Anonymous: the login page; signed in without staff status:
# a 403 that says so (not a login form for someone already signed in).


def is_staff(user: object) -> bool:
    return bool(getattr(user, "is_staff", False))


is_staff.requirement = "staff status"  # type: ignore[attr-defined]  # the 403 names it
staff_member_required = claims_passes_test(is_staff, login_url="login")


@staff_member_required
@permission_required("auth.view_user", raise_exception=True)
def staff_users(request: HttpRequest) -> HttpResponse:
    users = (
        get_user_model()
        ._default_manager.select_related("subscription")
        .prefetch_related("groups")
        .order_by("username")
    )
    page = Paginator(users, USERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "demo/staff_users.html", {"page": page})


@staff_member_required
@permission_required("auth.change_user", raise_exception=True)
def staff_user(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    data = request.POST if request.method == "POST" else None
    form = UserAccessForm(data, user=user, editor=request.user)
    if request.method == "POST" and form.is_valid():
        changed = form.save()
        if changed:
            messages.success(
                request,
                f"Saved {user.get_username()}'s {', '.join(changed)}: "
                "their next request shows it, on every device.",
            )
        else:
            messages.info(request, f"Nothing to change for {user.get_username()}.")
        return redirect("staff_user", pk=user.pk)
    context = {"target": user, "form": form, "banned_until": banned_until(user)}
    return render(request, "demo/staff_user.html", context)


@staff_member_required
@permission_required("auth.change_user", raise_exception=True)
@require_POST
def staff_user_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    mark_for_refresh(user)
    messages.success(
        request,
        f"{user.get_username()}'s claims are rebuilt from the database at their next request.",
    )
    return redirect("staff_user", pk=user.pk)


@staff_member_required
@permission_required("auth.change_user", raise_exception=True)
@require_POST
def staff_user_logout(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    yourself = user.pk == request.user.pk
    revoke_user(
        user,
        keep=request.session if yourself else None,
        reason="revoked_by_admin",
        by=impersonator_id(request) or request.user,  # who acts
    )
    messages.success(
        request,
        "Your other sessions are logged out."
        if yourself
        else f"{user.get_username()} is logged out everywhere.",
    )
    return redirect("staff_user", pk=user.pk)
