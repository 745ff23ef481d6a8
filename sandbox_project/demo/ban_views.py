"""The staff page's ban and unban buttons: ``ban_user()`` / ``unban_user()`` (the admin has
them too: *Bans*, and the user list's "Ban selected users…")."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from django_jwtsession import ban_user, unban_user

from .views import staff_member_required

DURATIONS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}


@staff_member_required
@permission_required("auth.change_user", raise_exception=True)
@require_POST
def staff_user_ban(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    duration = DURATIONS.get(request.POST.get("duration", ""))
    if duration is None:
        messages.error(request, "Choose how long the ban lasts.")
    elif user.pk == request.user.pk:
        messages.error(request, "You cannot ban yourself.")
    else:
        ban = ban_user(user, duration, reason=request.POST.get("reason", "")[:200], by=request.user)
        messages.success(
            request,
            f"{user.get_username()} is banned until "
            f"{timezone.localtime(ban.until):%Y-%m-%d %H:%M %Z}: "
            "their sessions end on their next request.",
        )
    return redirect("staff_user", pk=user.pk)


@staff_member_required
@permission_required("auth.change_user", raise_exception=True)
@require_POST
def staff_user_unban(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    if unban_user(user):
        messages.success(request, f"{user.get_username()} may sign in again.")
    else:
        messages.info(request, f"{user.get_username()} was not banned.")
    return redirect("staff_user", pk=user.pk)
