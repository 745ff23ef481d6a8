"""The session endpoints: log in and out, the claims, their refresh, my sessions, the JWKS.

Each works with the session cookie (CSRF enforced on unsafe methods) and with a
Bearer session token (see :mod:`.authentication`); a Bearer client whose token
changed gets the new one in the body (``token``) and the ``X-Session-Token`` header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.contrib.auth import login, logout
from django.core.exceptions import ImproperlyConfigured
from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...backends.base import ClaimsSessionBase
from ...backends.session import SessionStore
from ...end_reasons import EndReason
from ...history import recent_ended
from ...models import SessionRecord, SessionRecordQuerySet
from ...revocation import revoke_session, revoke_user
from ...signin import SignInRefused, check_sign_in
from ...timestamps import iso
from ...users import ClaimsUser
from .authentication import JWTSessionAuthentication, current_session, is_bearer, reissue
from .jwks import JWKSView as JWKSView  # its own module; importable from here too
from .serializers import (
    LoginSerializer,
    RefreshSerializer,
    SessionRecordSerializer,
    claims_data,
    session_data,
)
from .throttling import LOGIN_SCOPE, LoginRateThrottle

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

_SESSION_HASH = re.compile(r"[0-9a-f]{64}")
_TRUE = frozenset({"1", "true", "yes", "on"})
RECENT_ENDED = 20
"""How many ended sessions ``GET sessions/?ended=1`` adds at most."""
NO_STORE = {"Cache-Control": "no-store"}
"""Responses that carry a token are never cached."""


def session_of(request: Request) -> ClaimsSessionBase:
    session = current_session(request)
    if session is None:
        raise ImproperlyConfigured(
            "The django_jwtsession API needs SESSION_ENGINE = "
            '"django_jwtsession.backends.session" (or .jwt / .db).'
        )
    return session


_MISSING = object()
_CSRF_META = ("CSRF_COOKIE", "CSRF_COOKIE_NEEDS_UPDATE")


@contextmanager
def acting_on(request: Request, store: ClaimsSessionBase) -> Iterator[None]:
    """Run Django's ``login()`` / ``logout()`` on ``store`` (a Bearer session), leaving
    the request's cookie session, user and CSRF token (``login()`` rotates it) as they were."""
    django_request = request._request
    saved = {name: getattr(django_request, name, _MISSING) for name in ("session", "user")}
    meta = django_request.META
    saved_meta = {name: meta.get(name, _MISSING) for name in _CSRF_META}
    django_request.session = store
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                django_request.__dict__.pop(name, None)
            else:
                setattr(django_request, name, value)
        for name, value in saved_meta.items():
            if value is _MISSING:
                meta.pop(name, None)
            else:
                meta[name] = value


def describe(store: ClaimsSessionBase | None, *, bearer: bool) -> dict[str, Any]:
    """A signed-in session's claims and metadata (None for both when anonymous)."""
    claims = None if store is None else store.claims
    if store is None or claims is None:
        return {"claims": None, "session": None}
    return {"claims": claims_data(claims), "session": session_data(store, bearer=bearer)}


def refusal(refused: SignInRefused) -> exceptions.PermissionDenied:
    """A refused sign-in as a 403: ``{"detail": "...", "code": "banned" | "session_limit"}``,
    and ``"until"`` (ISO 8601) for a ban."""
    body = {"detail": refused.message, "code": refused.code}
    if refused.until is not None:
        body["until"] = iso(refused.until) or ""
    return exceptions.PermissionDenied(body)


def log_out(request: Request) -> Response:
    """``logout()`` on this request's session (the Bearer token's, or the cookie's): it
    is revoked server-side, and the cookie deleted."""
    bearer = request.auth
    if isinstance(bearer, ClaimsSessionBase):  # is_bearer()
        with acting_on(request, bearer):
            logout(request._request)
    else:
        logout(request._request)
    return Response(status=status.HTTP_204_NO_CONTENT)


def acting(request: Request) -> Any:
    """Who acts on this request, for the session history's "by": the impersonator in an
    impersonated session (they act, not the user), else the user."""
    session = current_session(request)
    actor = None if session is None else session.actor
    return actor.user_id if actor is not None else request.user


def my_user_id(request: Request) -> Any:
    """The signed-in user's primary key (``IsAuthenticated`` has already run).

    The real user is loaded first (one query): claims alone name a user id, and a row
    replaced behind our back (deleted by raw SQL, its id reused) must not hand this
    session another user's sessions.
    """
    user = request.user
    if isinstance(user, ClaimsUser):
        user = user.load()
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user.pk


def my_records(request: Request) -> SessionRecordQuerySet:
    """The signed-in user's session records (see :func:`my_user_id`)."""
    return SessionRecord.objects.filter(user_id=my_user_id(request))


class SessionAPIView(APIView):
    authentication_classes = [JWTSessionAuthentication]
    permission_classes = [IsAuthenticated]


class SessionView(SessionAPIView):
    """``POST`` log in, ``GET`` the current claims and session, ``DELETE`` log out."""

    login_throttle_scope = LOGIN_SCOPE

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.request.method in ("GET", "HEAD", "OPTIONS", "POST"):
            return [AllowAny()]
        return super().get_permissions()

    def get(self, request: Request) -> Response:
        """The claims and session (nulls when anonymous); also sets the CSRF cookie that
        a browser's cookie login needs."""
        bearer = is_bearer(request)
        if not bearer:
            get_token(request._request)
        if not request.user.is_authenticated:
            return Response(describe(None, bearer=False))
        return Response(describe(session_of(request), bearer=bearer))

    def post(self, request: Request) -> Response:
        """Log in: sets the cookie (CSRF checked, as by Django's ``LoginView``); or, with
        ``{"token": true}`` / ``?token=1``, starts a session returned as a token only."""
        data = request.data if hasattr(request.data, "get") else {}
        as_token = any(
            value is True or str(value).lower() in _TRUE
            for value in (data.get("token"), request.query_params.get("token", ""))
        )
        if not as_token:
            JWTSessionAuthentication().enforce_csrf(request)
        # Throttled after the CSRF check (a cross-site page cannot spend the budget) and
        # before anything else (every attempt counts, well-formed or not).
        throttle = LoginRateThrottle()
        if not throttle.allow_request(request, self):
            raise exceptions.Throttled(throttle.wait())  # as APIView.throttled() does
        serializer = LoginSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.authenticate(request)
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": [_("Unable to log in with the credentials given.")]},
                code="authorization",
            )
        try:
            check_sign_in(user, None if as_token else request._request)
            if not as_token:
                login(request._request, user)
                return Response(describe(session_of(request), bearer=False))
            # A session of its own and no cookie: a cross-site form cannot sign a browser
            # in with it (login CSRF), so it needs no CSRF token.
            store: ClaimsSessionBase = SessionStore()
            store.client_meta = request._request.META
            with acting_on(request, store):
                login(request._request, user)
        except SignInRefused as refused:  # banned, or at the session limit ("deny")
            raise refusal(refused) from None
        store.save()
        body = {**describe(store, bearer=True), "token": store.session_key}
        return Response(body, headers=NO_STORE)

    def delete(self, request: Request) -> Response:
        """Log out: this session is revoked server-side."""
        return log_out(request)


class RefreshView(SessionAPIView):
    """``POST {"force": bool}``: rebuild the claims now (force), or only if stale."""

    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        store = session_of(request)
        bearer = is_bearer(request)
        if serializer.validated_data["force"]:
            if not store.refresh_claims():  # the user is gone, inactive or changed password
                raise exceptions.AuthenticationFailed(_("This session has ended."))
            reason = "forced"
            token = reissue(request, store) if bearer else None
        else:
            # Stale claims (older than CLAIMS_TTL, or the user marked) were rebuilt when
            # this request's session was loaded; a Bearer token was re-issued then.
            reason = store.refresh_reason or "fresh"
            token = store.session_key if bearer else None
        body = {"refreshed": reason != "fresh", "reason": reason}
        body.update(describe(store, bearer=bearer))
        if token is None:
            return Response(body)
        return Response({**body, "token": token}, headers=NO_STORE)


class SessionListView(SessionAPIView):
    """``GET``: my live sessions, the current one flagged; ``?ended=1`` adds the ones that
    ended lately (within ``HISTORY_RETENTION``, the latest ``RECENT_ENDED``), with why."""

    def get(self, request: Request) -> Response:
        store = session_of(request)
        user_id = my_user_id(request)
        records = list(SessionRecord.objects.filter(user_id=user_id).live().order_by("-last_seen"))
        if str(request.query_params.get("ended", "")).lower() in _TRUE:
            records += list(recent_ended(user_id, RECENT_ENDED))
        context = {"current": store.public_id}
        return Response(SessionRecordSerializer(records, many=True, context=context).data)


class SessionDetailView(SessionAPIView):
    """``DELETE``: revoke one of my sessions. Anyone else's id is a 404, like a wrong one."""

    def delete(self, request: Request, session_id: str) -> Response:
        if not _SESSION_HASH.fullmatch(session_id):
            raise exceptions.NotFound()
        if not my_records(request).filter(session_hash=session_id, revoked_at=None).exists():
            raise exceptions.NotFound()
        if session_of(request).public_id == session_id:
            return log_out(request)  # this very session
        revoke_session(session_id, reason=EndReason.REVOKED_BY_USER, by=acting(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevokeOthersView(SessionAPIView):
    """``POST``: log out my other sessions; this one stays (a Bearer token is re-issued)."""

    def post(self, request: Request) -> Response:
        store = session_of(request)
        revoke_user(request.user, keep=store, reason=EndReason.REVOKED_BY_USER, by=acting(request))
        if is_bearer(request):
            return Response({"token": reissue(request, store)}, headers=NO_STORE)
        return Response(status=status.HTTP_204_NO_CONTENT)
