"""``SESSION_ENGINE = "django_jwtsession.backends.session"``: the strategy the settings name.

Each store takes the storage of ``JWTSESSION["STRATEGY"]`` (``"jwt"`` or ``"db"``)
when it is created, so switching strategies is one setting.
``django_jwtsession.backends.jwt`` and ``django_jwtsession.backends.db`` pin one
strategy instead. All three are plain ``SessionBase`` subclasses.
"""

from __future__ import annotations

from .base import ClaimsSessionBase
from .storage import Storage
from .strategies import storage_for


class SessionStore(ClaimsSessionBase):
    """A Django session store on the configured strategy's storage."""

    @classmethod
    def make_storage(cls) -> Storage:
        return storage_for()
