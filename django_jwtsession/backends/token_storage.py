"""The jwt strategy's storage: the cookie *is* the session, a signed (or encrypted) token.

Like Django's ``signed_cookies`` engine, the session key is the token itself; the
opaque session id lives inside it. Nothing is stored server-side but the session
record (best effort: it informs people, it does not carry the session).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.db import Error as DatabaseError
from django.utils.crypto import get_random_string

from ..codec import decode, encode
from ..conf import get_settings
from ..exceptions import SessionTooLarge, TokenError
from ..identity import SessionIdentity
from ..keyspace import session_hash
from ..records import save_record
from ..revocation import revoke_session
from .storage import Loaded, SaveOptions, Storage

logger = logging.getLogger("django_jwtsession")

CLAIMS_ROOM = 1024
"""Bytes kept free for the claims when checking that a session fits in a token."""


def new_session_id() -> str:
    return get_random_string(32, VALID_KEY_CHARS)


def looks_like_token(value: str) -> bool:
    """A compact JWS or JWE starts with a base64url JSON header (``ey``)."""
    return value.startswith("ey") and "." in value


class TokenStorage(Storage):
    strategy = "jwt"

    def recognizes(self, key: str) -> bool:
        return looks_like_token(key)

    def read(self, key: str, now: int) -> Loaded:
        payload, stale_key = decode(key, now=now)
        identity = SessionIdentity.from_payload(payload)
        return Loaded(payload["dat"], identity, payload["iat"], stale_key)

    def new_session_id(self) -> str:
        return new_session_id()

    def key_for(self, payload: dict[str, Any]) -> str:
        token = encode(payload)
        limit = get_settings().max_token_bytes
        if len(token) > limit:
            raise SessionTooLarge(
                f"The session token is {len(token)} bytes, over JWTSESSION['MAX_TOKEN_BYTES'] "
                f"({limit}). Keep less data in request.session, or raise the limit."
            )
        return token

    def write(self, payload: dict[str, Any], options: SaveOptions) -> str:
        token = self.key_for(payload)
        user_id = payload["dat"].get(SESSION_KEY)
        if options.record_due and user_id is not None:
            try:  # no savepoint: sessions are saved after ATOMIC_REQUESTS' transaction
                save_record(
                    session_hash=session_hash(payload["sid"]),
                    user_id=str(user_id),
                    strategy=self.strategy,
                    meta=options.client_meta,
                    expires=payload["exp"],
                )
            except (DatabaseError, ValueError):  # e.g. a user id the record's column refuses
                logger.warning("jwtsession: could not write a session record", exc_info=True)
        return token

    def discard(self, session_id: str, *, signed_in: bool) -> None:
        """A signed-in token is revoked: a copy replayed later is anonymous. An anonymous
        one carries no authority: like Django's signed cookies, nothing is written."""
        if signed_in:
            revoke_session(session_hash(session_id))

    def peek(self, key: str) -> tuple[str, bool] | None:
        try:
            payload, _ = decode(key)
            identity = SessionIdentity.from_payload(payload)
        except TokenError:
            return None
        return identity.session_id, SESSION_KEY in payload["dat"]

    def exists(self, key: str | None) -> bool:
        """As for Django's signed cookies: there is no server-side store to ask."""
        return False

    def can_hold(self, data: dict[str, Any]) -> bool:
        """A taken-over session must fit in a token, with room for the claims."""
        probe = {"sid": "x" * 32, "iat": 0, "exp": 0, "sat": 0, "dat": data}
        return len(encode(probe)) + CLAIMS_ROOM <= get_settings().max_token_bytes
