"""``SESSION_ENGINE = "django_jwtsession.backends.jwt"``: the cookie *is* the session.

Like Django's ``signed_cookies`` engine, ``session_key`` is the token itself; the
opaque ``session_id`` lives inside it. The token is re-issued only when the data
or claims changed, a rotated-out key verified it, or ``UPDATE_AGE`` passed.
"""

from __future__ import annotations

import time
from typing import Any

from .. import metrics
from ..codec import decode, encode
from ..conf import get_settings
from ..exceptions import SessionTooLarge, TokenError
from .base import ClaimsSessionBase

CLAIMS_ROOM = 1024
"""Bytes kept free for the claims when checking that a session fits in a token."""


class SessionStore(ClaimsSessionBase):
    """A Django session store whose storage is a signed (optionally encrypted) token."""

    strategy = "jwt"

    def _read(self) -> dict[str, Any] | None:
        token = self.session_key
        if not token:
            return None
        if not token.startswith("ey") or "." not in token:  # perhaps a cookie of another kind
            adopted = self._adopt(token)
            if adopted is not None:
                return adopted
        now = int(time.time())
        try:
            payload, stale_key = decode(token, now=now)
            data = self._apply(payload, now)
        except TokenError as exc:
            self._refuse(exc.reason)
            return None
        except ValueError:
            self._refuse("claims")
            return None
        metrics.count("decode.ok", strategy=self.strategy)
        if stale_key:
            self.modified = True  # re-issue under the current key
            self._record_due = True
        return data

    def _can_hold(self, data: dict[str, Any]) -> bool:
        """A taken-over session must fit in a token, with room for the claims."""
        probe = {"sid": "x" * 32, "iat": 0, "exp": 0, "sat": 0, "dat": data}
        return len(encode(probe)) + CLAIMS_ROOM <= get_settings().max_token_bytes

    def save(self, must_create: bool = False) -> None:
        if self._suspended:
            return  # the state check could not run: keep the incoming cookie as it is
        self._sync_claims()
        self._session_key = self._encode()
        self.modified = True
        self._finish_adoption()

    def _encode(self) -> str:
        payload = self._payload(int(time.time()))
        token = encode(payload)
        limit = get_settings().max_token_bytes
        if len(token) > limit:
            raise SessionTooLarge(
                f"The session token is {len(token)} bytes, over JWTSESSION['MAX_TOKEN_BYTES'] "
                f"({limit}). Keep less data in request.session, or raise the limit."
            )
        self._write_record(payload["exp"])
        return token
