"""``JWTSESSION["STRATEGY"] = "db"``: an opaque key in the cookie, the session in a table.

The session lives in its ``SessionRecord`` row (``data``), mirrored in the cache.
The cookie holds ``d1.<secret>`` — and, once signed in, ``.<user hint>``, the user
id, so that the session entry and the user's state entries come back in ONE cache
round trip. The hint is only a routing aid: it must match the stored session, which
only the secret unlocks. A warm request costs no query; a cold one, one query (the
row and any missing state entries together). Everything else — claims, their
refresh, marks, revocation, signals — is the shared code of ``base.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
import time
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.db import DatabaseError
from django.db.models import IntegerField, Subquery

from .. import metrics
from ..conf import get_settings
from ..exceptions import ExpiredToken, MalformedToken, TokenError, UnknownSession
from ..models import SessionRecord, StateEntry
from ..records import save_record
from ..state import (
    StateUnavailable,
    complete_state,
    read_cached,
    session_hash,
    state_keys,
    stored_session_key,
)
from .base import ClaimsSessionBase

logger = logging.getLogger("django_jwtsession")
KEY_PREFIX = "d1."
MAX_USER_ID = 255
"""The longest user id (as a string) a db session's cookie can name."""
_KEY = re.compile(r"d1\.([A-Za-z0-9_-]{43})(?:\.([A-Za-z0-9_-]{1,340}))?")


def session_id_for(secret: str) -> str:
    """The opaque session id of a secret: derived one way, so it never reveals the secret."""
    return hashlib.sha256(f"django_jwtsession.sid:{secret}".encode()).hexdigest()[:32]


def entry_key(session_id: str) -> str:
    """The cache key of a db session's stored payload."""
    return stored_session_key(session_hash(session_id))


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


def is_db_key(value: str) -> bool:
    return _KEY.fullmatch(value) is not None


class SessionStore(ClaimsSessionBase):
    """A Django session store whose storage is the session-record table, cache first.

    The row keeps the session data (``data``) apart from the claims and timestamps
    (``meta``): a save that only refreshed claims or slid the expiry leaves ``data``
    alone, so it never undoes a concurrent request's write.
    """

    strategy = "db"

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._secret: str | None = None
        self._stored_data: str | None = None  # ``data`` as read: unchanged unless it differs

    def _next_session_id(self) -> str:
        self._secret = secrets.token_urlsafe(32)
        self._stored_data = None
        return session_id_for(self._secret)

    # -- reading ----------------------------------------------------------------------------
    def _read(self) -> dict[str, Any] | None:
        key = self.session_key
        if not key:
            return None
        match = _KEY.fullmatch(key)
        if match is None:  # perhaps a cookie of another kind
            adopted = self._adopt(key)
            if adopted is None:
                self._refuse("malformed")
            return adopted
        secret, hint = match.groups()
        user_id = _unhint(hint) if hint else None
        if hint and user_id is None:
            self._refuse("malformed")
            return None
        now = int(time.time())
        sid = session_id_for(secret)
        self._sid = sid  # known before the read: a suspended session can still be revoked
        keys = state_keys(user_id, sid) if user_id is not None else []
        try:
            payload = self._fetch(sid, keys, now)
            data = self._apply(payload, now)
            if not isinstance(data, dict) or data.get(SESSION_KEY) != user_id:
                raise MalformedToken("the hint does not belong to this session")
            if (
                int(payload["exp"]) <= now
                or int(payload["sat"]) + get_settings().max_lifetime <= now
            ):
                raise ExpiredToken("the session expired")
        except TokenError as exc:
            self._refuse(exc.reason)
            self._prefetched = None
            return None
        except (ValueError, KeyError, TypeError):
            self._refuse("claims")
            self._prefetched = None
            return None
        self._secret = secret
        metrics.count("decode.ok", strategy=self.strategy)
        return data

    def _fetch(self, sid: str, keys: list[str], now: int) -> dict[str, Any]:
        """The stored payload and (when signed in) the state, in one cache round trip;
        on a miss, in one query. Sets ``self._prefetched``."""
        entry = entry_key(sid)
        try:
            found, extra = read_cached(keys, [entry], hot_path=True)
            stored = extra.get(entry)
            fetched: dict[str, int] | None = None
            refill = False
            if not isinstance(stored, dict):
                stored, fetched = self._from_database(sid, keys, found)
                refill = found is not None  # the cache is reachable: refill it
            if keys:
                self._prefetched = complete_state(keys, sid, found, fetched)
        except StateUnavailable:
            metrics.count("state.refused")
            raise
        payload: dict[str, Any] = json.loads(stored["meta"])
        payload["dat"] = json.loads(stored["data"])
        if refill:
            self._cache_entry(entry, stored, int(payload["exp"]) - now)
        payload["sid"] = sid  # derived from the secret, never stored
        self._stored_data = stored["data"]
        return payload

    def _from_database(
        self, sid: str, keys: list[str], found: dict[str, int] | None
    ) -> tuple[dict[str, str], dict[str, int] | None]:
        """The session row, with the state entries the cache lacked, in one query."""
        missing = keys if found is None else [key for key in keys if key not in found]
        versions = {
            f"v{index}": Subquery(
                StateEntry.objects.filter(key=key).values("version")[:1],
                output_field=IntegerField(),
            )
            for index, key in enumerate(missing)
        }
        try:
            rows = list(
                SessionRecord.objects.filter(
                    session_hash=session_hash(sid), strategy=self.strategy, revoked_at=None
                )
                .exclude(meta="")
                .annotate(**versions)
                .values("data", "meta", *versions)
                .order_by()[:1]  # at most one row (the hash is unique): no ORDER BY
            )
            row = rows[0] if rows else None
        except DatabaseError as exc:
            logger.warning("jwtsession: the database could not read a session", exc_info=True)
            raise StateUnavailable("database unreachable") from exc
        if row is None:
            raise UnknownSession("no live session under this key")
        fetched = {key: row[f"v{index}"] or 0 for index, key in enumerate(missing)}
        return {"data": row["data"], "meta": row["meta"]}, (fetched if keys else None)

    @staticmethod
    def _cache_entry(
        entry: str, stored: dict[str, str], expires_in: int, *, replace: bool = False
    ) -> None:
        """Cache a stored session until it expires (``add`` unless ``replace``)."""
        cache = caches[get_settings().cache_alias]
        timeout = max(expires_in, 1)
        try:
            if replace:
                cache.set(entry, stored, timeout)
            else:
                cache.add(entry, stored, timeout)  # never over a concurrent writer's newer one
        except Exception:
            logger.warning("jwtsession: could not cache a db session", exc_info=True)
            if replace:  # never leave an older copy behind
                SessionStore._evict_entry(entry)

    # -- writing ----------------------------------------------------------------------------
    def save(self, must_create: bool = False) -> None:
        """Write the row (one upsert) and its cache entry; ``data`` only when it changed.

        The session lives in the database: unlike the jwt strategy's records, a failing
        write fails the request, as with Django's own ``db`` engine.
        """
        if self._suspended:
            return  # the state check could not run: keep the incoming cookie as it is
        self._sync_claims()
        now = int(time.time())
        payload = self._payload(now)
        assert self._secret is not None  # noqa: S101  (set with the identity)
        sid = payload.pop("sid")
        data = json.dumps(payload.pop("dat"), separators=(",", ":"))
        meta = json.dumps(payload, separators=(",", ":"))
        data_changed = data != self._stored_data
        user_id = self._session.get(SESSION_KEY)
        save_record(
            session_hash=session_hash(sid),
            user_id=None if user_id is None else str(user_id),
            strategy=self.strategy,
            meta=self.client_meta,
            expires=payload["exp"],
            data=data,
            session_meta=meta,
            data_changed=data_changed,
        )
        self._record_due = False
        if data_changed:
            stored = {"data": data, "meta": meta}
            self._cache_entry(entry_key(sid), stored, payload["exp"] - now, replace=True)
        else:  # another request may have written newer data: let the next read fetch the row
            self._evict_entry(entry_key(sid))
        self._stored_data = data
        key = KEY_PREFIX + self._secret
        self._session_key = key if user_id is None else f"{key}.{_hint(str(user_id))}"
        self.modified = True
        self._finish_adoption()

    def cycle_key(self) -> None:
        """A new key; an anonymous session's old row goes (a signed-in one's is revoked)."""
        old_sid = self.session_id
        signed_in = SESSION_KEY in self._get_session()
        super().cycle_key()
        if old_sid is not None and not signed_in:
            SessionRecord.objects.filter(session_hash=session_hash(old_sid), user=None).delete()
            self._evict_entry(entry_key(old_sid))

    def delete(self, session_key: str | None = None) -> None:
        """End this session (revoked, its data cleared, its cache entry evicted); with
        another ``session_key``, that session, as Django's stores do."""
        if session_key is not None and session_key != self.session_key:
            type(self)(session_key).delete()
            return
        if self._sid is None and self.session_key:
            match = _KEY.fullmatch(self.session_key)
            if match is not None:  # not loaded: the key alone names the session
                self._sid = session_id_for(match.group(1))
        super().delete()  # revokes the session, clears its row and evicts its entry

    @staticmethod
    def _evict_entry(entry: str) -> None:
        try:
            caches[get_settings().cache_alias].delete(entry)
        except Exception:
            logger.warning("jwtsession: could not evict a db session", exc_info=True)
