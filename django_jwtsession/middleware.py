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

from typing import Any

from django.contrib.auth import get_user_model, middleware as auth_middleware
from django.contrib.sessions import middleware as session_middleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from .backends.base import ClaimsSessionBase
from .cookies import delete_session_cookie, read_session_cookie, split_session_cookie
from .derived import derived
from .refresh import session_user
from .users import ClaimsUser

_user_model = derived(get_user_model)  # apps.get_model() per request is measurable


class SessionMiddleware(session_middleware.SessionMiddleware):
    """Django's session middleware, reading and writing chunked session cookies."""

    def process_request(self, request: HttpRequest) -> None:
        session = self.SessionStore(read_session_cookie(request.COOKIES))
        if isinstance(session, ClaimsSessionBase):
            session.client_meta = request.META  # for the session record: IP, user agent
        request.session = session

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if isinstance(session, ClaimsSessionBase) and session.suspended:
            patch_vary_headers(response, ("Cookie",))
            return response  # the state check could not run: the cookie stays as it was
        response = super().process_response(request, response)
        if isinstance(session, ClaimsSessionBase):
            if session.ended_on_save:  # revoked while this request ran: the cookie goes
                delete_session_cookie(response)
            split_session_cookie(request.COOKIES, response)
        return response


def user_from_session(session: ClaimsSessionBase) -> ClaimsUser:
    """The request's user, lazily: the session is read on first use, as Django's
    ``request.user`` is. It answers from the claims, or is Django's ``AnonymousUser``."""

    def load_real_user() -> Any:
        # Django's get_user() checks: the backend, user_can_authenticate() and the
        # session hash, so a password changed elsewhere ends this session too; then
        # the request is anonymous, as Django's get_user() would have made it.
        user, _ = session_user(dict(session.items()))
        if user is None:
            from django.contrib.auth.models import AnonymousUser  # needs the app registry

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
