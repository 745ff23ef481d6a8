"""``SESSION_ENGINE = "django_jwtsession.backends.jwt"``: the jwt strategy, pinned.

The cookie *is* the session: a signed (optionally encrypted) token, re-issued only
when the data or claims changed, a rotated-out key verified it, or ``UPDATE_AGE``
passed (see :mod:`~django_jwtsession.backends.token_storage`).
"""

from __future__ import annotations

from .base import ClaimsSessionBase
from .storage import Storage
from .token_storage import TokenStorage


class SessionStore(ClaimsSessionBase):
    """A Django session store whose storage is a signed (optionally encrypted) token."""

    @classmethod
    def make_storage(cls) -> Storage:
        return TokenStorage()
