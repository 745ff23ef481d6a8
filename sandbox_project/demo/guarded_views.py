"""The guarded pages: a role, a tier and a flag, checked from the claims; a recent sign-in.

``/guarded/pro/`` and ``/guarded/beta/`` cost no query; ``/guarded/admin/`` is the
sensitive one and asks the database (``fresh=True``: two queries). ``/guarded/fresh/``
asks for a sign-in within the last 5 minutes (no query): an older one signs in again.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from django_jwtsession import (
    feature_required,
    fresh_login_required,
    role_required,
    subscription_required,
)

FRESH_LOGIN_MAX_AGE = 5 * 60


def guarded_page(request: HttpRequest, title: str, needs: str, note: str = "") -> HttpResponse:
    context = {"title": title, "needs": needs, "note": note}
    return render(request, "demo/guarded.html", context)


@role_required("admin", fresh=True)
def admin_page(request: HttpRequest) -> HttpResponse:
    note = (
        "This guard has fresh=True: it checked your roles in the database, not only in your "
        "session, as a sensitive page should. Superusers have every role."
    )
    return guarded_page(request, "Admins only", "the role admin", note)


@subscription_required("pro")
def pro_page(request: HttpRequest) -> HttpResponse:
    note = "Tiers are ordered free < pro < enterprise: enterprise opens it too."
    return guarded_page(request, "Pro and above", "tier pro or higher", note)


@feature_required("beta")
def beta_page(request: HttpRequest) -> HttpResponse:
    return guarded_page(request, "Beta feature", "the flag beta")


@fresh_login_required(max_age=FRESH_LOGIN_MAX_AGE)
def fresh_page(request: HttpRequest) -> HttpResponse:
    note = (
        "This guard asks for a recent sign-in, as a page that changes a password or deletes "
        "an account should. Signed in longer ago, you are sent to the login page (still "
        "signed in), and come back here once you have signed in again."
    )
    return guarded_page(request, "Recent sign-in", "a sign-in within the last 5 minutes", note)
