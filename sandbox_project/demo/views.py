"""Sandbox views."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def whoami_payload(request: HttpRequest) -> dict[str, object]:
    user = request.user
    if not user.is_authenticated:
        return {
            "authenticated": False,
            "id": None,
            "username": None,
            "roles": [],
            "tier": None,
            "flags": [],
            "strategy": settings.STRATEGY,
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
        "strategy": settings.STRATEGY,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "claims_at": getattr(request.session, "claims_at", None),
    }


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(whoami_payload(request))


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"me": whoami_payload(request)})
