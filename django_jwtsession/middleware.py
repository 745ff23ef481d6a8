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

from django.contrib.auth import middleware as auth_middleware
from django.contrib.sessions import middleware as session_middleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from .backends.base import ClaimsSessionBase
from .cookies import read_session_cookie, split_session_cookie
from .users import user_from_session


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
        if isinstance(getattr(request, "session", None), ClaimsSessionBase):
            split_session_cookie(request.COOKIES, response)
        return response


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """``request.user`` from the session's claims: no query on the hot path.

    ``await request.auser()`` returns the same lazy user, so async views pay no query
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
            return request.user

        request.auser = auser
