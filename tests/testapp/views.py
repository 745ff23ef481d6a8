"""Views the tests drive through the full middleware stack."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import aauthenticate, alogin, authenticate, login, update_session_auth_hash
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import RequestContext, Template
from django.utils import timezone

from django_jwtsession import impersonator_id

from .models import Note


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"authenticated": False})
    answer = {
        "authenticated": True,
        "id": user.pk,
        "username": user.get_username(),
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "roles": sorted(user.roles),
        "tier": user.tier,
        "flags": sorted(user.flags),
    }
    acting = impersonator_id(request)
    if acting is not None:  # only while impersonated: other tests compare the whole answer
        answer["impersonator"] = acting
    return JsonResponse(answer)


def impersonation_banner(request: HttpRequest) -> HttpResponse:
    """The banner template tag alone (``tests/test_impersonation.py``)."""
    template = Template("{% load jwtsession %}[{% impersonation_banner %}]")
    return HttpResponse(template.render(RequestContext(request)))


async def async_whoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse(
        {"authenticated": user.is_authenticated, "username": user.get_username() or None}
    )


def plain(request: HttpRequest) -> HttpResponse:
    """Touches neither the session nor the user."""
    return HttpResponse("plain")


def template_without_user(request: HttpRequest) -> HttpResponse:
    """Renders with the ``auth`` context processor but reads neither ``user`` nor ``perms``,
    then says whether that read the session (Django's ``auth_tests.test_context_processors``
    ``…test_session_not_accessed``)."""
    Template("{{ 1 }}").render(RequestContext(request))
    return HttpResponse("accessed" if request.session.accessed else "not accessed")


def set_value(request: HttpRequest) -> HttpResponse:
    for key, value in request.GET.items():
        request.session[key] = value
    return HttpResponse("ok")


def set_big(request: HttpRequest) -> HttpResponse:
    request.session["big"] = "x" * int(request.GET["size"])
    return HttpResponse("ok")


def get_value(request: HttpRequest) -> JsonResponse:
    return JsonResponse({key: request.session.get(key) for key in request.GET})


def add_message(request: HttpRequest) -> HttpResponse:
    messages.success(request, request.GET.get("text", "hello"))
    return HttpResponse("ok")


def read_messages(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"messages": [str(m) for m in messages.get_messages(request)]})


def change_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    user.set_password(request.POST["password"])
    user.save()
    update_session_auth_hash(request, user)
    return HttpResponse("ok")


def create_note(request: HttpRequest) -> HttpResponse:
    note = Note(text="hi")
    note.owner = request.user
    note.save()
    return HttpResponse(str(note.owner_id))


def email(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.user.email)


def cycle(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    return HttpResponse(request.session.session_id or "")


def flush(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("ok")


def expiry(request: HttpRequest) -> HttpResponse:
    """``set_expiry(seconds)``; ``?seconds=none`` is ``set_expiry(None)``."""
    seconds = request.GET["seconds"]
    request.session.set_expiry(None if seconds == "none" else int(seconds))
    return HttpResponse("ok")


def user_summary(request: HttpRequest) -> JsonResponse:
    """What any ``request.user`` answers (works with Django's own session engines too)."""
    user = request.user
    return JsonResponse(
        {
            "authenticated": user.is_authenticated,
            "username": user.get_username() or None,
            "email": user.email if user.is_authenticated else None,
        }
    )


def permissions(request: HttpRequest) -> JsonResponse:
    """A permission check first (it needs the real user), then who the request is."""
    allowed = request.user.has_perm("auth.view_user")
    return JsonResponse({"allowed": allowed, "authenticated": request.user.is_authenticated})


def expire_in_past(request: HttpRequest) -> HttpResponse:
    request.session.set_expiry(timezone.now() - timedelta(days=1))
    return HttpResponse("ok")


def delete_me(request: HttpRequest) -> HttpResponse:
    """Delete the signed-in user without logging out (the session is saved afterwards)."""
    request.session["bye"] = True
    request.user.delete()
    return HttpResponse("deleted")


def custom_login(request: HttpRequest) -> HttpResponse:
    """A view of the project's own calling ``login()`` with ``authenticate()``'s user."""
    user = authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("wrong credentials", status=400)
    login(request, user)
    return HttpResponse("signed in")


def login_then_fail(request: HttpRequest) -> HttpResponse:
    """``login()``, then an error: the response (a 500) never saves the session."""
    custom_login(request)
    raise RuntimeError("the view failed after login()")


async def async_login(request: HttpRequest) -> HttpResponse:
    """The same with ``aauthenticate()`` and ``alogin()``."""
    user = await aauthenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("wrong credentials", status=400)
    await alogin(request, user)
    return HttpResponse("signed in")
