"""``SESSION_ENGINE = "django_jwtsession.backends.jwt"``: the cookie *is* the session.

Like Django's ``signed_cookies`` engine, ``session_key`` is the token itself; the
opaque ``session_id`` lives inside it. The token is re-issued only when the data
or claims changed, a rotated-out key verified it, or ``UPDATE_AGE`` passed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.contrib.auth import SESSION_KEY

from .. import metrics
from ..claims import Claims
from ..codec import decode, encode
from ..conf import get_settings
from ..exceptions import SessionTooLarge, TokenError
from .base import ClaimsSessionBase

logger = logging.getLogger("django_jwtsession")


class SessionStore(ClaimsSessionBase):
    """A Django session store whose storage is a signed (optionally encrypted) token."""

    strategy = "jwt"

    def _read(self) -> dict[str, Any] | None:
        token = self.session_key
        if not token:
            return None
        now = int(time.time())
        try:
            payload, stale_key = decode(token, now=now)
            claims = Claims.from_dict(payload["clm"]) if "clm" in payload else None
        except TokenError as exc:
            self._refuse(exc.reason)
            return None
        except ValueError:
            self._refuse("claims")
            return None
        metrics.count("decode.ok")
        self._sid, self._started = payload["sid"], payload["sat"]
        self._mark_seen = payload.get("mv", 0)
        self._user_epoch, self._global_epoch = payload.get("rev", 0), payload.get("gre", 0)
        self._claims, self._claims_at = claims, payload.get("cat")
        if stale_key or now - payload["iat"] >= get_settings().update_age:
            self.modified = True
            self._record_due = True
        data: dict[str, Any] = payload["dat"]
        return data

    def _refuse(self, reason: str) -> None:
        self.rejected = reason
        metrics.count(f"decode.{reason}")
        logger.info("Session token refused: %s", reason)

    def save(self, must_create: bool = False) -> None:
        if self._suspended:
            return  # the state check could not run: keep the incoming cookie as it is
        self._sync_claims()
        self._session_key = self._encode()
        self.modified = True

    def _encode(self) -> str:
        conf = get_settings()
        now = int(time.time())
        if self._sid is None or self._started is None:
            self._new_identity()
        user_id = self._session.get(SESSION_KEY)
        if user_id is not None and self._epochs_stale:
            self._read_epochs(str(user_id))
        assert self._sid is not None  # noqa: S101
        assert self._started is not None  # noqa: S101
        expires = min(now + max(self.get_expiry_age(), 0), self._started + conf.max_lifetime)
        payload: dict[str, Any] = {
            "sid": self._sid,
            "iat": now,
            "exp": max(expires, now),
            "sat": self._started,
            "dat": self._session,
        }
        if self._claims is not None:
            payload["clm"] = self._claims.to_dict()
            payload["cat"] = self._claims_at
            payload["mv"] = self._mark_seen
            payload["rev"] = self._user_epoch
            payload["gre"] = self._global_epoch
        token = encode(payload)
        if len(token) > conf.max_token_bytes:
            raise SessionTooLarge(
                f"The session token is {len(token)} bytes, over JWTSESSION['MAX_TOKEN_BYTES'] "
                f"({conf.max_token_bytes}). Keep less data in request.session, or raise the limit."
            )
        self._write_record(payload["exp"])
        return token
