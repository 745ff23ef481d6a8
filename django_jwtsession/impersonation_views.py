"""The impersonation views: start (as a user) and stop, both POST with CSRF.

Include them in your URLconf (names under the ``jwtsession_impersonation`` namespace)::

    path("impersonation/", include("django_jwtsession.impersonation_urls")),

A refusal is a 403 that says why (a JSON ``{"detail", "code"}`` for a request that wants
JSON), never a 500. Redirects go to ``next`` when it is a URL of this site, else (stop) to
where the impersonation started, else ``LOGIN_REDIRECT_URL``; a stop whose impersonator
may no longer act signs everybody out and goes to ``LOGIN_URL``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .guards import wants_json
from .impersonation import RETURN_KEY, start_impersonation, stop_impersonation
from .impersonation_rules import ImpersonationRefused


@require_POST
def start(request: HttpRequest, user_id: str) -> HttpResponse:
    """Impersonate the user ``user_id``; ``next`` (POST) is where to go, ``return_to``
    where the stop view comes back to."""
    target = _user(user_id)
    try:
        start_impersonation(request, target, return_to=_safe(request, "return_to"))
    except ImpersonationRefused as refused:
        return _refused(request, refused)
    assert target is not None  # noqa: S101  (refused otherwise)
    messages.info(request, f"You are now {target.get_username()}.", fail_silently=True)
    return HttpResponseRedirect(_safe(request, "next") or resolve_url(settings.LOGIN_REDIRECT_URL))


@require_POST
def stop(request: HttpRequest) -> HttpResponse:
    """Stop impersonating: back as yourself (or signed out, when you may no longer act)."""
    stored = request.session.get(RETURN_KEY)
    return_to = stored if isinstance(stored, str) and _allowed(request, stored) else None
    try:
        back = stop_impersonation(request)
    except ImpersonationRefused as refused:
        return _refused(request, refused)
    if back is None:
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
    messages.info(request, f"You are {back.get_username()} again.", fail_silently=True)
    target = _safe(request, "next") or return_to or resolve_url(settings.LOGIN_REDIRECT_URL)
    return HttpResponseRedirect(target)


def _user(user_id: str) -> Any:
    """The user with primary key ``user_id``, or None (a malformed id names nobody)."""
    model = get_user_model()
    try:
        return model._default_manager.filter(pk=user_id).first()
    except (ValidationError, ValueError, TypeError):
        return None


def _safe(request: HttpRequest, field: str) -> str | None:
    value = request.POST.get(field)
    return value if value and _allowed(request, value) else None


def _allowed(request: HttpRequest, url: str) -> bool:
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def _refused(request: HttpRequest, refused: ImpersonationRefused) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": refused.message, "code": refused.code}, status=403)
    raise refused  # the project's 403 page, with the message
