"""The signed-in user's own session pages: refresh my claims, my sessions, revoke them.

Plain HTML forms (POST + CSRF token) that redirect with a message. They call what the
REST endpoints call (``/api/session/refresh/``, ``/api/sessions/``): the API answers
JSON, these pages answer a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from django_jwtsession import EndReason, impersonator_id, revoke_session, revoke_user
from django_jwtsession.admin.agents import Agent, parse
from django_jwtsession.claims import Claims
from django_jwtsession.conf import get_settings
from django_jwtsession.end_reasons import label as reason_label
from django_jwtsession.history import recent_ended
from django_jwtsession.limits import limit_for
from django_jwtsession.models import SessionRecord
from django_jwtsession.users import ClaimsUser

from .session_info import public_session_id

SESSION_HASH = re.compile(r"[0-9a-f]{64}")


def verified_user_id(request: HttpRequest) -> Any:
    """The signed-in user's id, checked against the database (a claims user is loaded):
    a row replaced behind our back must not show this session another user's sessions."""
    user: Any = request.user
    real = user.load() if isinstance(user, ClaimsUser) else user
    return real.pk if real.is_authenticated else None


def live_sessions(request: HttpRequest) -> QuerySet[SessionRecord]:
    """The signed-in user's sessions that are neither revoked nor expired."""
    user_id = verified_user_id(request)
    if user_id is None:
        return SessionRecord.objects.none()
    return SessionRecord.objects.filter(user_id=user_id).live()


# -- refresh my session ---------------------------------------------------------------------------


def _names(values: frozenset[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def claim_changes(before: Claims | None, after: Claims) -> list[str]:
    """What a claims rebuild changed, as people read it (``tier pro → free``)."""
    if before is None:
        return []
    changes = []
    for label, old, new in (
        ("roles", _names(before.roles), _names(after.roles)),
        ("tier", before.tier or "none", after.tier or "none"),
        ("flags", _names(before.flags), _names(after.flags)),
        ("staff", _yes(before.is_staff), _yes(after.is_staff)),
        ("superuser", _yes(before.is_superuser), _yes(after.is_superuser)),
    ):
        if old != new:
            changes.append(f"{label} {old} → {new}")
    return changes


@login_required
@require_POST
def refresh_session(request: HttpRequest) -> HttpResponse:
    """Rebuild my claims from the database now, as ``POST /api/session/refresh/
    {"force": true}`` does (``request.session.refresh_claims()``)."""
    store: Any = request.session
    before = store.claims
    if not store.refresh_claims():  # gone, inactive or a new password: the session ended
        messages.warning(request, "Your session has ended: please log in again.")
        return redirect("login")
    changes = claim_changes(before, store.claims)
    if changes:
        text = "; ".join(changes)
        messages.success(request, f"Claims rebuilt from the database: {text}.")
    else:
        messages.info(request, "Claims rebuilt from the database: nothing had changed.")
    return redirect("home")


# -- my sessions --------------------------------------------------------------------------------


RECENT_ENDED = 10
"""How many ended sessions "my sessions" shows."""


@dataclass(frozen=True)
class SessionRow:
    record: SessionRecord
    agent: Agent
    current: bool

    @property
    def id(self) -> str:
        return self.record.session_hash

    @property
    def why(self) -> str:
        """Why an ended session ended, as people read it (``logged out``)."""
        return reason_label(self.record.why_ended or "")


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    """My live sessions (device, browser, IP, created, last seen), the current one first;
    then the ones that ended lately, and why."""
    current = public_session_id(request)
    rows = [
        SessionRow(record, parse(record.user_agent), record.session_hash == current)
        for record in live_sessions(request)
        .select_related("actor")  # "acted by": no query per row
        .order_by("-last_seen", "-created")
    ]
    rows.sort(key=lambda row: not row.current)  # stable: the rest stay newest first
    user_id = verified_user_id(request)
    ended = [
        SessionRow(record, parse(record.user_agent), False)
        for record in recent_ended(user_id, RECENT_ENDED).select_related("actor")
    ]
    session: Any = request.session
    limit = limit_for(request.user, getattr(session, "claims", None))  # from the claims: no SQL
    context = {
        "rows": rows,
        "ended": ended,
        "session_limit": limit,
        "session_limit_policy": get_settings().session_limit_policy,
    }
    return render(request, "demo/my_sessions.html", context)


@login_required
@require_POST
def revoke_my_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """Revoke one of my sessions; anyone else's (or an unknown) id is a 404."""
    if not SESSION_HASH.fullmatch(session_id):
        raise Http404("No such session.")
    user_id = verified_user_id(request)
    record = SessionRecord.objects.filter(
        session_hash=session_id, user_id=user_id, revoked_at=None
    ).first()
    if record is None or user_id is None:
        raise Http404("No such session.")
    if session_id == public_session_id(request):  # this very session: log out
        logout(request)
        messages.info(request, "You revoked this session: you are logged out.")
        return redirect("login")
    revoke_session(session_id, reason=EndReason.REVOKED_BY_USER, by=acting(request))
    agent = parse(record.user_agent)
    messages.success(
        request,
        f"Revoked the session of {agent.browser} on {agent.os}: its next request is signed out.",
    )
    return redirect("my_sessions")


@login_required
@require_POST
def revoke_other_sessions(request: HttpRequest) -> HttpResponse:
    """Log out my other sessions (``revoke_user(keep=request.session)``); this one stays."""
    current = public_session_id(request)
    others = live_sessions(request).exclude(session_hash=current or "").count()
    revoke_user(
        request.user, keep=request.session, reason=EndReason.REVOKED_BY_USER, by=acting(request)
    )
    noun = "session" if others == 1 else "sessions"
    messages.success(request, f"Logged out your {others} other {noun}; this one stays.")
    return redirect("my_sessions")


def acting(request: HttpRequest) -> Any:
    """Who acts, for the history's "by": the impersonator when impersonated, else the user."""
    return impersonator_id(request) or request.user
