"""The db strategy's cookie value: ``d1.<secret>``, and once signed in ``.<user hint>``.

A jwt session too large for a token is stored the same way under ``s1.`` (spilled).

The secret is 43 random characters, never stored: the session id is derived from
it one way, and only that id's hash is stored. The hint is the user id, so that
the session entry and the user's state entries come back in ONE cache round trip;
it is only a routing aid and must match the stored session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from typing import NamedTuple

KEY_PREFIX = "d1."
SPILL_PREFIX = "s1."
"""A jwt session stored server-side, being too large for a token."""
MAX_USER_ID = 255
"""The longest user id (as a string) a db session's cookie can name."""
_KEY = re.compile(r"([ds]1\.)([A-Za-z0-9_-]{43})(?:\.([A-Za-z0-9_-]{1,340}))?")


class DbKey(NamedTuple):
    secret: str
    user_id: str | None
    """The user the hint names (None: an anonymous session's key)."""

    @property
    def session_id(self) -> str:
        return session_id_for(self.secret)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def session_id_for(secret: str) -> str:
    """The opaque session id of a secret: derived one way, so it never reveals the secret."""
    return hashlib.sha256(f"django_jwtsession.sid:{secret}".encode()).hexdigest()[:32]


def is_db_key(value: str, prefix: str = KEY_PREFIX) -> bool:
    match = _KEY.fullmatch(value)
    return match is not None and match.group(1) == prefix


def parse(value: str, prefix: str = KEY_PREFIX) -> DbKey | None:
    """The secret and user of a db session key; None when it is not one we could write."""
    match = _KEY.fullmatch(value)
    if match is None or match.group(1) != prefix:
        return None
    _, secret, hint = match.groups()
    if hint is None:
        return DbKey(secret, None)
    user_id = _unhint(hint)
    return None if user_id is None else DbKey(secret, user_id)


def format_key(secret: str, user_id: str | None, prefix: str = KEY_PREFIX) -> str:
    key = prefix + secret
    return key if user_id is None else f"{key}.{_hint(user_id)}"


def _hint(user_id: str) -> str:
    return base64.urlsafe_b64encode(user_id.encode()).rstrip(b"=").decode("ascii")


def _unhint(hint: str) -> str | None:
    """The user id in a hint, or None when it is not one we could have written."""
    try:
        user_id = base64.urlsafe_b64decode(hint + "=" * (-len(hint) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not user_id or len(user_id) > MAX_USER_ID or not user_id.isprintable() or " " in user_id:
        return None
    return user_id
