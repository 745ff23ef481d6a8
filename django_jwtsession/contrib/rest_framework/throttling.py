"""The login endpoint's throttle: DRF's ``ScopedRateThrottle`` with a default rate.

Scope ``jwtsession_login``, keyed by the client's address — ``REMOTE_ADDR``, or the
rightmost entry of ``JWTSESSION["CLIENT_IP_HEADER"]`` (never a header the client
chose) — whether or not the caller is signed in. The rate is
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["jwtsession_login"]`` when set (``None``
turns it off), else :data:`DEFAULT_LOGIN_RATE`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from ...records import client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger("django_jwtsession")
LOGIN_SCOPE = "jwtsession_login"
DEFAULT_LOGIN_RATE = "10/minute"


class LoginRateThrottle(ScopedRateThrottle):
    """Throttles by the view's ``login_throttle_scope`` (``jwtsession_login``), with a
    default rate for that scope.

    A scope attribute of its own: a project's ``ScopedRateThrottle`` (which reads
    ``throttle_scope``) does not count the endpoint's other methods as logins.
    """

    scope_attr = "login_throttle_scope"

    def allow_request(self, request: Request, view: APIView) -> bool:
        """DRF's check; when the cache cannot count (an outage), the sign-in goes ahead:
        sessions keep working through a cache outage, and so does signing in."""
        try:
            return bool(super().allow_request(request, view))
        except Exception:  # the cache is the throttle's only store
            logger.warning("jwtsession: the login throttle cannot reach its cache: not applied")
            return True

    def get_cache_key(self, request: Request, view: APIView) -> str:
        """One bucket per client address: not per account (a signed-in attacker would
        get a bucket per account they hold), not per ``X-Forwarded-For`` (forgeable)."""
        address = client_ip(request._request.META) or "unknown"
        return str(self.cache_format % {"scope": self.scope, "ident": address})

    def get_rate(self) -> str | None:
        # DRF's throttles read the rates once, at import: read them now, so that
        # settings changed later (override_settings) apply.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope in rates:
            rate = rates[self.scope]  # a string such as "10/minute" (the stubs say a number)
            return None if rate is None else str(rate)
        if self.scope == LOGIN_SCOPE:
            return DEFAULT_LOGIN_RATE
        return super().get_rate()
