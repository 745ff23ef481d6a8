"""``SESSION_ENGINE = "django_jwtsession.backends.session"``: the strategy the settings name.

``JWTSESSION["STRATEGY"]`` (``"jwt"`` or ``"db"``) picks the store at each request,
so switching strategies is one setting. ``django_jwtsession.backends.jwt`` and
``django_jwtsession.backends.db`` pin one strategy instead.
"""

from __future__ import annotations

from typing import Any

from ..conf import get_settings
from .base import ClaimsSessionBase


def store_class(strategy: str | None = None) -> type[ClaimsSessionBase]:
    """The store class of ``strategy`` (default: the configured one)."""
    from . import db, jwt

    stores: dict[str, type[ClaimsSessionBase]] = {
        "jwt": jwt.SessionStore,
        "db": db.SessionStore,
    }
    return stores[strategy or get_settings().strategy]


class SessionStore(ClaimsSessionBase):
    """Instantiating it gives the configured strategy's store (a ``ClaimsSessionBase``)."""

    def __new__(cls, session_key: str | None = None) -> Any:
        return store_class()(session_key)
