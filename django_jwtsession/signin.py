"""The sign-in gate: a banned user, or one at their session limit under ``"deny"``, may not
sign in.

Three places refuse, each safely:

- forms we own (:class:`~django_jwtsession.forms.SignInGateMixin`) and the REST login
  endpoint call :func:`check_sign_in` before ``login()``: a form error, a 403 with a message;
- every ``login()`` (the admin's, a custom view's, the test client's) reaches :func:`gate`, a
  ``user_logged_in`` receiver: it enforces the session limit (it may evict the oldest
  sessions) and, when refusing, flushes the session just signed in (no signed-in cookie is
  written) and raises :class:`SignInRefused`, a ``PermissionDenied``: Django answers 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from . import limits
from .bans import active_ban
from .claims import user_id_string

_CHECKED = "_jwtsession_sign_in_checked"
"""Set on a user object that :func:`check_sign_in` passed: :func:`gate` skips the ban query."""


class SignInRefused(PermissionDenied):
    """This user may not sign in now. ``code`` is ``"banned"`` or ``"session_limit"``;
    ``message`` says why, for the person signing in; ``until``: when a ban ends."""

    def __init__(self, message: str, code: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.until = message, code, until


def _when(moment: datetime) -> str:
    try:
        local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    except OverflowError:  # a ban's end stored past what the local time zone can show
        local = moment
    zone = local.tzname() or (settings.TIME_ZONE if not settings.USE_TZ else "")
    return f"{local:%Y-%m-%d %H:%M} {zone}".strip()


def banned(until: datetime) -> SignInRefused:
    return SignInRefused(f"This account is suspended until {_when(until)}.", "banned", until=until)


def over_limit(limit: int) -> SignInRefused:
    noun = "session" if limit == 1 else "sessions"
    return SignInRefused(
        f"This account already has {limit} {noun} signed in, the most it may have. Sign out "
        "of one of them (or end it in 'my sessions' there), then sign in again.",
        "session_limit",
    )


def check_sign_in(user: Any, request: Any = None) -> None:
    """Raise :class:`SignInRefused` when ``user`` may not sign in now: banned, or (with
    ``SESSION_LIMIT_POLICY = "deny"``) at their session limit. One query for the ban, one
    count with a ``"deny"`` limit. ``login()`` checks again (:func:`gate`)."""
    ban = active_ban(user)
    if ban is not None:
        raise banned(ban.until)
    session = getattr(request, "session", None)
    claims = getattr(session, "claims", None)
    current = None
    if session is not None and session.get(SESSION_KEY) == user_id_string(user):
        current = getattr(session, "public_id", None)  # signing in again replaces it
    limit = limits.would_deny(user, claims, current)
    if limit is not None:
        raise over_limit(limit)
    setattr(user, _CHECKED, True)


def gate(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: refuse a banned user; enforce ``SESSION_LIMIT``."""
    from .backends.base import ClaimsSessionBase  # the store imports revocation, as we do

    session = getattr(request, "session", None)
    try:
        if not getattr(user, _CHECKED, False):
            ban = active_ban(user)
            if ban is not None:
                raise banned(ban.until)
        if isinstance(session, ClaimsSessionBase):
            try:
                limits.enforce(session, user, getattr(request, "META", None))
            except limits.OverLimit as exc:
                raise over_limit(exc.limit) from None
    except SignInRefused:
        refuse(request)
        raise


def refuse(request: Any) -> None:
    """Undo a ``login()`` being refused: the session signed out (flushed: no signed-in
    cookie is written) and the request anonymous."""
    session = getattr(request, "session", None)
    if session is not None:
        session.flush()
    if request is not None and hasattr(request, "user"):
        request.user = AnonymousUser()
