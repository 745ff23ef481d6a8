"""One exception hierarchy for everything that can be wrong with a token."""

from __future__ import annotations


class TokenError(Exception):
    """A token was refused. ``reason`` is a short, stable code (used in logs and metrics)."""

    reason = "invalid"


class TokenTooLarge(TokenError):
    reason = "too_large"


class MalformedToken(TokenError):
    reason = "malformed"


class DisallowedHeader(TokenError):
    reason = "header"


class UnknownKey(TokenError):
    reason = "unknown_key"


class BadSignature(TokenError):
    reason = "signature"


class DecryptionFailed(TokenError):
    reason = "decryption"


class InvalidClaims(TokenError):
    reason = "claims"


class ExpiredToken(TokenError):
    reason = "expired"


class AmbiguousCookie(TokenError):
    """The request sent the session cookie more than once (cookie tossing?)."""

    reason = "ambiguous"


class UnknownSession(TokenError):
    """The ``db`` strategy has no live session under this key (expired, deleted or made up)."""

    reason = "unknown_session"
