"""Impersonation: act as another user, in a session that says who is acting, then go back.

``start_impersonation(request, user)`` ends the impersonator's session and signs ``user``
in on the same request, in a new session whose identity carries the impersonator (the
``act`` member, :mod:`~django_jwtsession.actor`); ``stop_impersonation(request)`` ends
that session and signs the impersonator back in — once :func:`verified_actor` says they
still may — with their own start and sign-in time (an impersonation never makes a sign-in
fresh nor extends ``MAX_LIFETIME``). Who may impersonate whom:
:mod:`~django_jwtsession.impersonation_rules`.

Neither is a sign-in: Django's ``user_logged_in`` is not sent (no ``last_login`` update, no
sign-in hooks); :data:`~django_jwtsession.signals.impersonation_started` and
``impersonation_ended`` are. Reading who acts costs nothing: ``request.session.actor``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.middleware.csrf import rotate_token

from .actor import Actor
from .backends.base import ClaimsSessionBase
from .end_reasons import EndReason
from .impersonation_rules import ImpersonationRefused, refusal, session_data, verified_actor
from .signals import impersonation_ended, impersonation_started

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("django_jwtsession")

RETURN_KEY = "_jwtsession_impersonation_return"
"""Where the impersonator started from (a URL the stop view goes back to, when safe)."""
IMPERSONATION_START = EndReason.IMPERSONATION_START
"""Why the impersonator's own session ended: it gave way to the impersonation."""
IMPERSONATION_END = EndReason.IMPERSONATION_END
"""Why an impersonated session ended: its impersonator stopped (or may no longer act)."""


def impersonator_id(request: HttpRequest) -> str | None:
    """The impersonator's user id when the request's session is an impersonation, else
    None (read from the session itself: no query, no cache call)."""
    actor = getattr(getattr(request, "session", None), "actor", None)
    return actor.user_id if isinstance(actor, Actor) else None


def start_impersonation(
    request: HttpRequest, user: AbstractBaseUser, *, return_to: str | None = None
) -> None:
    """Act as ``user`` from this response on; raise :class:`ImpersonationRefused` (a
    ``PermissionDenied``) when the rules refuse. ``return_to`` is remembered for the stop
    view (it redirects there when the URL is safe)."""
    session = request.session
    refused = refusal(request.user, user, session)
    if refused is not None:
        raise refused
    assert isinstance(session, ClaimsSessionBase)  # noqa: S101  (refusal() checked it)
    identity = session.identity
    assert identity is not None  # noqa: S101  (signed in)
    assert identity.claims is not None  # noqa: S101
    actor = Actor(
        user_id=identity.claims.user_id,
        username=identity.claims.username,
        started=identity.started,
        signed_in_at=identity.signed_in_at,
        user_epoch=identity.user_epoch,
        backend=session[BACKEND_SESSION_KEY],
        auth_hash=session[HASH_SESSION_KEY],
    )
    impersonator = request.user
    end_session_for_impersonation(session, IMPERSONATION_START, by=actor.user_id)
    _sign_in(request, session, user, actor.backend)
    session.set_actor(actor)
    if return_to:
        session[RETURN_KEY] = return_to
    logger.info("jwtsession: user %s impersonates user %s", actor.user_id, user.pk)
    impersonation_started.send(
        sender=type(session), request=request, impersonator=impersonator, user=user
    )


def stop_impersonation(request: HttpRequest) -> AbstractBaseUser | None:
    """End the impersonation: the impersonator is signed back in and returned, or, when
    they may no longer act (gone, inactive, password changed, sessions revoked, permission
    withdrawn), nobody is and None is returned. Raise :class:`ImpersonationRefused` (code
    ``"not_impersonating"``) when the session is no impersonation."""
    session = request.session
    actor = getattr(session, "actor", None)
    if not isinstance(session, ClaimsSessionBase) or actor is None:
        raise ImpersonationRefused("not_impersonating", "You are not impersonating anybody.")
    impersonated = session.get(SESSION_KEY)
    back = verified_actor(actor)
    end_session_for_impersonation(session, IMPERSONATION_END, by=actor.user_id)
    if back is None:
        from django.contrib.auth.models import AnonymousUser  # needs the app registry

        request.user = AnonymousUser()
        logger.warning(
            "jwtsession: user %s may no longer impersonate: signed out instead of back",
            actor.user_id,
        )
    else:
        _sign_in(request, session, back, actor.backend)
        session.restore_sign_in(actor.started, actor.signed_in_at)
        logger.info("jwtsession: user %s stopped impersonating %s", actor.user_id, impersonated)
    impersonation_ended.send(
        sender=type(session),
        request=request,
        impersonator_id=actor.user_id,
        user_id=impersonated,
        returned=back is not None,
    )
    return back


def end_session_for_impersonation(session: ClaimsSessionBase, reason: str, by: str) -> None:
    """End the request's session because an impersonation starts or ends (``reason``:
    :data:`IMPERSONATION_START` or :data:`IMPERSONATION_END`), ``by`` the impersonator.

    The one place impersonation ends a session: revoked (a copy of its cookie replayed
    later is anonymous), its record ended with ``reason`` and ``by`` (the session history).
    """
    session.flush_for(reason, by=by)


def _sign_in(
    request: HttpRequest, session: ClaimsSessionBase, user: AbstractBaseUser, backend: str
) -> None:
    """What ``login()`` does for an empty session, without its signal: the user's id,
    backend and auth hash stored, their claims built, the CSRF token rotated."""
    for key, value in session_data(user, backend).items():
        session[key] = value
    session.set_user(user)
    request.user = user  # type: ignore[assignment]  # any user model
    rotate_token(request)


def may_impersonate(request: HttpRequest, user: Any) -> bool:
    """Whether ``request.user`` may impersonate ``user`` now (for templates and admin)."""
    return refusal(request.user, user, request.session) is None
