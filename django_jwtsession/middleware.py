"""``SessionMiddleware`` and ``AuthenticationMiddleware``: subclasses of Django's own.

Use them in place of Django's (the admin's checks accept subclasses)::

    MIDDLEWARE = [
        ...,
        "django_jwtsession.middleware.SessionMiddleware",
        ...,
        "django_jwtsession.middleware.AuthenticationMiddleware",
        ...,
    ]
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, middleware as auth_middleware
from django.contrib.sessions import middleware as session_middleware
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from . import cookie_header
from .backends.base import ClaimsSessionBase
from .cookie_header import bounded_cookies
from .cookies import (
    delete_session_cookie,
    harden_session_cookie,
    read_session_cookie,
    split_session_cookie,
)
from .derived import derived
from .refresh import session_user
from .state import StateUnavailable
from .users import ClaimsUser

logger = logging.getLogger("django_jwtsession")
_user_model = derived(get_user_model)  # apps.get_model() per request is measurable


class SessionMiddleware(session_middleware.SessionMiddleware):
    """Django's session middleware, reading and writing chunked session cookies.

    Beyond Django's: an ambiguous ``Cookie`` header (the session cookie twice) is
    refused; a response that sets the session cookie is ``Cache-Control: private``; a
    deletion of it keeps ``Secure`` / ``HttpOnly``; a session the database cannot save
    gives a 503, not a 500.
    """

    def process_request(self, request: HttpRequest) -> None:
        bounded_cookies(request)  # before anything parses the Cookie header
        header = request.META.get("HTTP_COOKIE", "")
        sent = cookie_header.candidates(header, settings.SESSION_COOKIE_NAME)
        if sent:
            request.session = self._the_valid_one(sent, request)
            return
        session = self.SessionStore(None if sent is None else read_session_cookie(request.COOKIES))
        if isinstance(session, ClaimsSessionBase):
            session.client_meta = request.META  # for the session record: IP, user agent
            if sent is None:
                session.refuse_ambiguous()
        request.session = session

    def _the_valid_one(self, values: list[str], request: HttpRequest) -> Any:
        """The session cookie was sent several times: the one value that is a valid
        session, or an anonymous session that writes no cookie when none or several are."""
        valid = []
        for value in values:
            store = self.SessionStore(value)
            if isinstance(store, ClaimsSessionBase):
                store.client_meta = request.META
                store._get_session()
                if store.session_key is None or store.suspended:
                    continue
            valid.append(store)
        if len(valid) == 1:
            return valid[0]
        session = self.SessionStore(None)
        if isinstance(session, ClaimsSessionBase):
            session.client_meta = request.META
            session.refuse_ambiguous()
        return session

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if not isinstance(session, ClaimsSessionBase):
            return super().process_response(request, response)
        if session.suspended:
            patch_vary_headers(response, ("Cookie",))
            return response  # the state check could not run: the cookie stays as it was
        try:
            response = super().process_response(request, response)
        except (DatabaseError, StateUnavailable):
            logger.warning("jwtsession: the session could not be saved", exc_info=True)
            return unavailable()
        if session.ended_on_save:  # revoked while this request ran: the cookie goes
            delete_session_cookie(response)
        harden_session_cookie(response)
        split_session_cookie(request.COOKIES, response)
        name = settings.SESSION_COOKIE_NAME
        if any(key == name or key.startswith(name + ".") for key in response.cookies):
            patch_cache_control(response, private=True)  # never in a shared cache
            patch_vary_headers(response, ("Cookie",))
        return response


def unavailable() -> HttpResponse:
    """A 503 for a session that could not be saved (the view itself may have run)."""
    response = HttpResponse(
        "Your session could not be saved right now (the request itself may have been "
        "processed); please check, then try again in a moment.",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "5"
    patch_cache_control(response, no_store=True)
    return response


def user_from_session(session: ClaimsSessionBase) -> ClaimsUser:
    """The request's user, lazily: the session is read on first use, as Django's
    ``request.user`` is. It answers from the claims, or is Django's ``AnonymousUser``."""

    def load_real_user() -> Any:
        # Django's get_user() checks: the backend, user_can_authenticate() and the
        # session hash, so a password changed elsewhere ends this session too; then
        # the request is anonymous, as Django's get_user() would have made it.
        data = dict(session.items())
        user, _ = session_user(data)
        if user is None:
            from django.contrib.auth.models import AnonymousUser  # needs the app registry

            if SESSION_KEY in data:  # a signed-in session whose user is gone ends
                session.flush()
            return AnonymousUser()
        return user

    return ClaimsUser.deferred(lambda: session.claims, _user_model(), load_real_user)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """``request.user`` from the session's claims: no query on the hot path.

    As with Django's, ``request.user`` is lazy: a request that touches neither the
    session nor the user reads nothing (and sends no ``Vary: Cookie``). Touched, it
    answers from the claims. ``await request.auser()`` reads the session without
    blocking the event loop and returns the same user, so async views pay no query
    either; they ``await user.aload()`` (or call the model's async methods, such as
    ``ahas_perm()``) before reading what the claims do not answer. With a session
    engine that is not ours, it behaves as Django's own.
    """

    def process_request(self, request: HttpRequest) -> None:
        session = getattr(request, "session", None)
        if not isinstance(session, ClaimsSessionBase):
            super().process_request(request)
            return
        request.user = user_from_session(session)  # type: ignore[assignment]  # proxies the model

        async def auser() -> Any:
            await session._aget_session()  # the session's I/O, off the event loop
            return request.user

        request.auser = auser
