"""The session identity: who a session is, apart from the data it carries.

One immutable value with one wire form, shared by every strategy (the jwt token's
payload, the db strategy's stored ``meta``) and by the take-over of another
engine's session. The short wire keys:

=======  ==============  =====================================================
key      field           meaning
=======  ==============  =====================================================
``sid``  ``session_id``  the opaque session id (stable until ``cycle_key()``)
``sat``  ``started``     when the session started (its sign-in), Unix time
``aat``  ``authenticated_at``  the last sign-in (``login()``, a re-authentication too)
``clm``  ``claims``      the claims (:class:`~django_jwtsession.claims.Claims`)
``cat``  ``claims_at``   when the claims were built, Unix time
``mv``   ``mark_seen``   the user's mark version the claims were built against
``rev``  ``user_epoch``  the user's revocation epoch when the session started
``gre``  ``global_epoch``  the global revocation epoch when the session started
``hk``   ``hash_key``    which ``SECRET_KEY`` verified the session's auth hash
``act``  ``actor``       who acts in an impersonated session (:mod:`~django_jwtsession.actor`)
=======  ==============  =====================================================

``clm``, ``cat``, ``mv``, ``rev``, ``gre``, ``hk`` and ``aat`` are written only for a
signed-in session (one with claims), and are then all required but ``hk`` (a session
issued before it existed has its auth hash checked on its next request instead) and
``aat`` (a session issued before it existed was last signed in when it started: ``sat``);
``act`` is written only while someone impersonates the session's user.
The transport adds ``iat``, ``exp`` and ``dat`` (the session data) around them. Every
value is bounded by what the server could have issued: ``sat ≤ cat ≤ iat``,
``sat ≤ aat ≤ iat``, counters below 2**63 (the state check also refuses counters above
the server's own).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from .actor import Actor
from .claims import Claims
from .exceptions import InvalidClaims

SESSION_ID_LENGTHS = range(16, 65)
"""Session ids the server issues are 32 characters; anything from 16 to 64 is read."""
MAX_COUNTER = 2**63 - 1
"""Counters and times are 64-bit in the database: nothing larger was ever issued."""


def _counter(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if type(value) is not int or not 0 <= value <= MAX_COUNTER:
        raise InvalidClaims(f"{key} must be a non-negative 64-bit integer")
    return value


_SIGNED_IN_KEYS = ("clm", "cat", "mv", "rev", "gre", "hk", "aat", "act")


@dataclass(frozen=True)
class SessionIdentity:
    """A session's id, start, claims (with their age and mark version) and epochs."""

    session_id: str
    started: int
    claims: Claims | None = None
    claims_at: int | None = None
    mark_seen: int = 0
    user_epoch: int = 0
    global_epoch: int = 0
    hash_key: str = ""
    authenticated_at: int | None = None
    """The last sign-in (Unix time); None: when the session started (``started``)."""
    actor: Actor | None = None
    """Who acts in this session when it is impersonated (the impersonator), else None."""

    @classmethod
    def new(cls, session_id: str, started: int | None = None) -> SessionIdentity:
        """A session that starts now (or at ``started``), without claims."""
        return cls(session_id, int(time.time()) if started is None else started)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SessionIdentity:
        """Read the identity members of a verified payload; raise ``InvalidClaims``."""
        session_id, started = payload.get("sid"), payload.get("sat")
        if type(session_id) is not str or len(session_id) not in SESSION_ID_LENGTHS:
            raise InvalidClaims("sid must be a string of 16 to 64 characters")
        if type(started) is not int or not 0 <= started <= MAX_COUNTER:
            raise InvalidClaims("sat must be a non-negative integer")
        raw_claims = payload.get("clm")
        if raw_claims is None:
            if any(key in payload for key in _SIGNED_IN_KEYS):
                raise InvalidClaims("claim members without claims")
            return cls(session_id, started)
        claims_at, issued_at = payload.get("cat"), payload.get("iat")
        hash_key = payload.get("hk", "")  # a session from before it was written: checked now
        if type(raw_claims) is not dict or type(claims_at) is not int:
            raise InvalidClaims("clm must be an object with an integer cat")
        if type(issued_at) is not int or not started <= claims_at <= issued_at:
            raise InvalidClaims("claims built outside the session's life (sat <= cat <= iat)")
        if type(hash_key) is not str or len(hash_key) > 64:
            raise InvalidClaims("hk must be a short string")
        authenticated_at = payload.get("aat")  # absent: a session from before it was written
        if "aat" in payload and (
            type(authenticated_at) is not int or not started <= authenticated_at <= issued_at
        ):
            raise InvalidClaims("signed in outside the session's life (sat <= aat <= iat)")
        try:
            claims = Claims.from_dict(raw_claims)
        except ValueError:
            raise InvalidClaims("malformed claims") from None
        actor = None
        if "act" in payload:
            actor = Actor.from_payload(payload["act"], started, claims.user_id)
        return cls(
            session_id,
            started,
            claims,
            claims_at,
            _counter(payload, "mv"),
            _counter(payload, "rev"),
            _counter(payload, "gre"),
            hash_key,
            authenticated_at,
            actor,
        )

    def to_payload(self) -> dict[str, Any]:
        """The wire form (see the table above)."""
        payload: dict[str, Any] = {"sid": self.session_id, "sat": self.started}
        if self.claims is not None:
            payload["clm"] = self.claims.to_dict()
            payload["cat"] = self.claims_at
            payload["mv"] = self.mark_seen
            payload["rev"] = self.user_epoch
            payload["gre"] = self.global_epoch
            payload["hk"] = self.hash_key
            if self.authenticated_at is not None:
                payload["aat"] = self.authenticated_at
            if self.actor is not None:
                payload["act"] = self.actor.to_payload()
        return payload

    @property
    def signed_in_at(self) -> int:
        """When the user last signed in (``login()``), re-authentications included."""
        return self.started if self.authenticated_at is None else self.authenticated_at

    @property
    def lifetime_start(self) -> int:
        """What ``MAX_LIFETIME`` counts from: the start, or an impersonator's own start
        (an impersonation never outlives the impersonator's session)."""
        return self.started if self.actor is None else min(self.started, self.actor.started)

    def acted_by(self, actor: Actor | None) -> SessionIdentity:
        """This session with ``actor`` acting in it (None: nobody else)."""
        return dataclasses.replace(self, actor=actor)

    def successor(self, session_id: str) -> SessionIdentity:
        """The same session under a new id: start, claims and epochs kept."""
        return dataclasses.replace(self, session_id=session_id)

    def with_claims(
        self, claims: Claims, mark_seen: int, now: int, hash_key: str
    ) -> SessionIdentity:
        """Claims just built at ``now`` against mark version ``mark_seen``, the session's
        auth hash just verified under the ``SECRET_KEY`` that ``hash_key`` names."""
        return dataclasses.replace(
            self, claims=claims, claims_at=now, mark_seen=mark_seen, hash_key=hash_key
        )

    def without_claims(self) -> SessionIdentity:
        return dataclasses.replace(
            self,
            claims=None,
            claims_at=None,
            mark_seen=0,
            user_epoch=0,
            global_epoch=0,
            hash_key="",
            authenticated_at=None,
            actor=None,
        )

    def signed_in(self, now: int) -> SessionIdentity:
        """The user signed in (or re-authenticated) at ``now``: themselves, so nobody
        else acts in the session any more."""
        return dataclasses.replace(self, authenticated_at=max(now, self.started), actor=None)

    def under_epochs(self, user_epoch: int, global_epoch: int) -> SessionIdentity:
        """The revocation epochs this session lives under from now on."""
        return dataclasses.replace(self, user_epoch=user_epoch, global_epoch=global_epoch)
