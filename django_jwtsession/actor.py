"""Who is acting in an impersonated session: the identity's ``act`` member (RFC 8693's actor).

An impersonated session is signed in as its user (``clm``) while someone else acts in it:
the impersonator, whose own session gave way to it. What ending the impersonation needs
travels in the session the server issued (the signed token, or the stored session of the
db strategy), never in anything the client can edit:

=======  ==================  ===========================================================
key      field               meaning
=======  ==================  ===========================================================
``sub``  ``user_id``         the impersonator's user id (as Django stores it in sessions)
``un``   ``username``        the impersonator's username when it started (for people)
``sat``  ``started``         when the impersonator's own session started
``aat``  ``signed_in_at``    the impersonator's last sign-in: kept, never made fresh
``rev``  ``user_epoch``      the impersonator's revocation epoch: revoked since, no return
``bk``   ``backend``         the authentication backend the impersonator signed in with
``hsh``  ``auth_hash``       the impersonator's session auth hash (password changed: no return)
=======  ==================  ===========================================================

Read strictly, as every identity member: exactly these keys, each of its type, within
what the server could have issued (``act.sat <= act.aat <= sat``, the impersonated
session starting after the impersonator's own sign-in), and never the session's own user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidClaims

KEYS = frozenset({"sub", "un", "sat", "aat", "rev", "bk", "hsh"})
MAX_USER_ID = 255
"""A user id longer than this was never issued (primary keys are short: integers, UUIDs)."""
MAX_USERNAME = 255
MAX_BACKEND = 255
MAX_AUTH_HASH = 128
_MAX_COUNTER = 2**63 - 1


@dataclass(frozen=True)
class Actor:
    """The impersonator acting in a session (``SessionIdentity.actor``)."""

    user_id: str
    username: str
    started: int
    signed_in_at: int
    user_epoch: int
    backend: str
    auth_hash: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "sub": self.user_id,
            "un": self.username,
            "sat": self.started,
            "aat": self.signed_in_at,
            "rev": self.user_epoch,
            "bk": self.backend,
            "hsh": self.auth_hash,
        }

    @classmethod
    def from_payload(cls, value: Any, session_started: int, user_id: str) -> Actor:
        """The ``act`` member of a verified payload; raise ``InvalidClaims``.

        ``session_started`` is the session's ``sat`` and ``user_id`` its claims' user.
        """
        if type(value) is not dict or value.keys() != KEYS:
            raise InvalidClaims(f"act must be an object with exactly {', '.join(sorted(KEYS))}")
        sub, username = value["sub"], value["un"]
        started, signed_in_at = value["sat"], value["aat"]
        epoch, backend, auth_hash = value["rev"], value["bk"], value["hsh"]
        if not _text(sub, MAX_USER_ID) or sub == user_id:
            raise InvalidClaims("act.sub must be another user's id")
        if type(username) is not str or len(username) > MAX_USERNAME:
            raise InvalidClaims("act.un must be a short string")
        if not all(type(number) is int for number in (started, signed_in_at, epoch)):
            raise InvalidClaims("act.sat, act.aat and act.rev must be integers")
        if not 0 <= started <= signed_in_at <= session_started:
            raise InvalidClaims("act signed in outside what was issued (act.sat <= act.aat <= sat)")
        if not 0 <= epoch <= _MAX_COUNTER:
            raise InvalidClaims("act.rev must be a non-negative 64-bit integer")
        if not _text(backend, MAX_BACKEND) or not _text(auth_hash, MAX_AUTH_HASH):
            raise InvalidClaims("act.bk and act.hsh must be short non-empty strings")
        return cls(sub, username, started, signed_in_at, epoch, backend, auth_hash)


def _text(value: Any, limit: int) -> bool:
    return type(value) is str and 0 < len(value) <= limit and value.isprintable()
