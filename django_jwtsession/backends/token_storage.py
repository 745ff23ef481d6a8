"""The jwt strategy's storage: the cookie *is* the session, a signed (or encrypted) token.

Like Django's ``signed_cookies`` engine, the session key is the token itself; the
opaque session id lives inside it. Nothing is stored server-side but the session
record (best effort: it informs people, it does not carry the session) — unless the
session is too large for a token (``MAX_TOKEN_BYTES``: a user with very many roles or
flags, or much session data): then it *spills* to its record, as a db session does,
under an ``s1.`` key, with a warning and the ``spill`` counter. Signing in never fails
for size.
"""

from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple

from django.contrib.auth import SESSION_KEY
from django.db import Error as DatabaseError

from .. import metrics, strict_json, throttled_log
from ..codec import check_claims, decode, encode
from ..conf import get_settings
from ..exceptions import TokenError
from ..identity import SessionIdentity
from ..keyspace import session_hash
from ..parse_memo import Memo, flat
from ..records import actor_id_of, save_record
from ..revocation import revoke_session
from .db_keys import SPILL_PREFIX, is_db_key
from .storage import Loaded, NeedsNewId, SaveOptions, Storage
from .table_storage import TableStorage

logger = logging.getLogger("django_jwtsession")


_TOKEN = re.compile(r"ey[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){2}((\.[A-Za-z0-9_-]*){2})?")


def looks_like_token(value: str) -> bool:
    """A compact JWS (three segments) or JWE (five), starting with a JSON header (``ey``)."""
    return _TOKEN.fullmatch(value) is not None


def is_session_key(value: str) -> bool:
    """A jwt session's cookie value: a token, or a spilled session's ``s1.`` key."""
    return looks_like_token(value) or is_db_key(value, SPILL_PREFIX)


class _Verified(NamedTuple):
    payload: dict[str, Any]  # for the time checks; its ``dat`` is never handed out when flat
    identity: SessionIdentity
    stale_key: bool
    flat: bool
    raw_data: str  # the session data's JSON, parsed again per hit when not flat


_VERIFIED: Memo[_Verified] = Memo(2048)


def read_token(token: str, now: int) -> Loaded:
    """Verify ``token`` (or find it verified before by this process: :mod:`.parse_memo`,
    its times checked again at ``now``) and read its session."""
    hit = _VERIFIED.get(token)
    if hit is not None:
        check_claims(hit.payload, get_settings(), now)
        data = dict(hit.payload["dat"]) if hit.flat else strict_json.loads(hit.raw_data)
        return Loaded(data, hit.identity, hit.payload["iat"], hit.stale_key)
    payload, stale_key = decode(token, now=now)
    identity = SessionIdentity.from_payload(payload)
    data = payload["dat"]
    if identity.claims is None or not identity.claims.extra:  # see parse_memo
        is_flat = flat(data)
        raw = "" if is_flat else strict_json.dumps(data)
        _VERIFIED.put(token, _Verified(payload, identity, stale_key, is_flat, raw))
        if is_flat:
            data = dict(data)
    return Loaded(data, identity, payload["iat"], stale_key)


class TokenStorage(Storage):
    strategy = "jwt"

    def __init__(self) -> None:
        self._spill = TableStorage(strategy=self.strategy, prefix=SPILL_PREFIX)
        self._spilled = False  # the session lives in its record (too large for a token)
        self._own_id: str | None = None  # the id derived from the spill storage's secret
        self._spilled_ids: set[str] = set()  # sessions this storage read or wrote spilled

    def recognizes(self, key: str) -> bool:
        return looks_like_token(key) or self._spill.recognizes(key)

    def read(self, key: str, now: int) -> Loaded:
        if self._spill.recognizes(key):
            loaded = self._spill.read(key, now)
            self._spilled = True
            self._own_id = loaded.identity.session_id
            self._spilled_ids.add(self._own_id)
            return loaded
        return read_token(key, now)

    def new_session_id(self) -> str:
        """Derived from a secret, as the db strategy's are, so the session can spill."""
        self._own_id = self._spill.new_session_id()
        self._spilled = False
        return self._own_id

    def key_for(self, payload: dict[str, Any]) -> str:
        if self._spilled:
            return self._spill.key_for(payload)
        token = encode(payload)
        if len(token) > get_settings().max_token_bytes:
            if payload["sid"] != self._own_id:  # read from a token: its secret is unknown
                raise NeedsNewId(payload["sid"])
            return self._spill.key_for(payload)
        return token

    def write(self, payload: dict[str, Any], options: SaveOptions) -> str:
        token = self.key_for(payload)
        if not looks_like_token(token):  # too large for a token: stored in its record
            if not self._spilled:
                self._spilled = True
                metrics.count("store.spill", strategy=self.strategy)
                throttled_log.warning(
                    "spill",
                    "jwtsession: a session too large for a token (MAX_TOKEN_BYTES = %s) is "
                    "stored server-side",
                    get_settings().max_token_bytes,
                )
            self._spilled_ids.add(payload["sid"])
            return self._spill.write(payload, options)
        user_id = payload["dat"].get(SESSION_KEY)
        if options.record_due and user_id is not None:
            try:  # no savepoint: sessions are saved after ATOMIC_REQUESTS' transaction
                save_record(
                    session_hash=session_hash(payload["sid"]),
                    user_id=str(user_id),
                    actor_id=actor_id_of(payload),
                    strategy=self.strategy,
                    meta=options.client_meta,
                    expires=payload["exp"],
                )
            except (DatabaseError, ValueError):  # e.g. a user id the record's column refuses
                logger.warning("jwtsession: could not write a session record", exc_info=True)
        return token

    def discard(
        self, session_id: str, *, signed_in: bool, reason: str = "revoked", by: str | None = None
    ) -> None:
        """A signed-in token is revoked: a copy replayed later is anonymous. An anonymous
        one carries no authority: like Django's signed cookies, nothing is written (a
        spilled one's record goes)."""
        if session_id in self._spilled_ids:
            self._spill.discard(session_id, signed_in=signed_in, reason=reason, by=by)
        elif signed_in:
            revoke_session(session_hash(session_id), reason=reason, by=by)

    def peek(self, key: str) -> tuple[str, bool] | None:
        if self._spill.recognizes(key):
            return self._spill.peek(key)
        try:
            payload, _ = decode(key)
            identity = SessionIdentity.from_payload(payload)
        except TokenError:
            return None
        return identity.session_id, SESSION_KEY in payload["dat"]

    def exists(self, key: str | None) -> bool:
        """As for Django's signed cookies: there is no server-side store to ask (but for
        a spilled session's record)."""
        return bool(key) and self._spill.recognizes(key or "") and self._spill.exists(key)
