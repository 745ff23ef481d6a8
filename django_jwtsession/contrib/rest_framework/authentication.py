"""``JWTSessionAuthentication``: the session cookie, or the same session as a Bearer token.

A request the session cookie signed in is authenticated as DRF's
``SessionAuthentication`` does: the middleware's user is reused (no second decode)
and CSRF is enforced on unsafe methods. ``Authorization: Bearer <token>`` carries
the cookie's value instead, for non-browser clients: no CSRF (a browser sends that
header cross-site only after a CORS preflight), and a bad, revoked or expired token
is a 401 with ``WWW-Authenticate: Bearer realm="api"``.

When a Bearer request rebuilds the claims (``CLAIMS_TTL``, a mark) or its token is
due for re-issue (``UPDATE_AGE``, a rotated-out key), the session is saved at once
and, when that changed the token, the new one is sent in the ``X-Session-Token``
response header: the client uses it from then on.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, get_authorization_header
from rest_framework.request import Request

from ...backends.base import ClaimsSessionBase
from ...backends.session import SessionStore
from ...middleware import user_from_session

TOKEN_HEADER = "X-Session-Token"  # noqa: S105  (a header name)
"""The response header that carries a Bearer session's re-issued token."""


class SessionsUnavailable(exceptions.APIException):
    """The state check could not run (``ON_CACHE_OUTAGE = "refuse"``): try again later.

    Not a 401: the token is not bad, and a client must not throw it away.
    """

    status_code = 503
    default_detail = _("Sessions cannot be checked right now; try again later.")
    default_code = "sessions_unavailable"


class JWTSessionAuthentication(SessionAuthentication):
    """The middleware's session user (CSRF enforced), or ``Authorization: Bearer <token>``.

    ``request.auth`` is the Bearer session's store (a ``ClaimsSessionBase``), or None
    for the cookie. A request with both is authenticated by the Bearer token.
    """

    keyword = "Bearer"
    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, ClaimsSessionBase | None] | None:
        token = self.bearer_token(request)
        if token is None:
            return super().authenticate(request)
        return self.authenticate_token(request, token)

    def bearer_token(self, request: Request) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header; None without one."""
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: expected “%(keyword)s <token>”.")
                % {"keyword": self.keyword}
            )
        try:
            return str(parts[1].decode("ascii"))
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid session token.")) from None

    def authenticate_token(self, request: Request, token: str) -> tuple[Any, ClaimsSessionBase]:
        """Load the session ``token`` names, as the middleware loads a cookie."""
        store: ClaimsSessionBase = SessionStore(token)
        store.client_meta = request._request.META  # IP and user agent for the session record
        user = user_from_session(store)
        authenticated = user.is_authenticated  # reads the session
        if store.suspended:
            raise SessionsUnavailable()
        if not authenticated or not user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or expired session token."))
        if store.modified:  # claims rebuilt, or the token due for re-issue
            reissue(request, store)
        return user, store

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="{self.www_authenticate_realm}"'


def reissue(request: Request, store: ClaimsSessionBase) -> str:
    """Save a Bearer session now and return its token; a changed token is also offered
    in the ``X-Session-Token`` header of the view's response (never cached)."""
    before = store.session_key
    store.save()
    token = str(store.session_key)
    if token != before:
        view = (getattr(request, "parser_context", None) or {}).get("view")
        headers = getattr(view, "headers", None)  # APIView.finalize_response() applies them
        if isinstance(headers, dict):
            headers[TOKEN_HEADER] = token
            headers["Cache-Control"] = "no-store"
    return token


def is_bearer(request: Request) -> bool:
    """True when the request was authenticated by a Bearer session token."""
    return isinstance(getattr(request, "auth", None), ClaimsSessionBase)


def current_session(request: Request) -> ClaimsSessionBase | None:
    """The request's session store: the Bearer token's, else the cookie's (None when the
    session engine is not this package's)."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ClaimsSessionBase):
        return auth
    session = getattr(request._request, "session", None)
    return session if isinstance(session, ClaimsSessionBase) else None
