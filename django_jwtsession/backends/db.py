"""``SESSION_ENGINE = "django_jwtsession.backends.db"``: the db strategy, pinned.

An opaque key in the cookie, the session in its ``SessionRecord`` row, cache first
(see :mod:`~django_jwtsession.backends.table_storage`).
"""

from __future__ import annotations

from .base import ClaimsSessionBase
from .storage import Storage
from .table_storage import TableStorage


class SessionStore(ClaimsSessionBase):
    """A Django session store whose storage is the session-record table, cache first."""

    @classmethod
    def make_storage(cls) -> Storage:
        return TableStorage()
