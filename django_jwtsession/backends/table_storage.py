"""The db strategy's storage: an opaque key in the cookie, the session in its record.

The session lives in its ``SessionRecord`` row (``data``, with the identity and
timestamps in ``meta``), mirrored in the cache. A warm read costs one cache round
trip (the session entry and the user's state entries together, thanks to the
key's user hint) and no query; a cold one, one query (the row and any missing
state entries together). A save that did not change ``data`` leaves it alone, so
it never undoes a concurrent request's write. A save never brings back a session
ended meanwhile: a signed-in one revoked (or deleted with its user) simply ends (the
cookie goes); an anonymous one deleted raises Django's ``UpdateError``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import IntegerField, Subquery
from django.utils import timezone

from .. import cache_access, metrics, strict_json
from ..conf import get_settings
from ..exceptions import ExpiredToken, MalformedToken, UnknownSession
from ..keyspace import clustered, session_hash, state_entries, stored_session_key
from ..models import SessionRecord, StateEntry
from ..outage import cache_failed
from ..records import actor_id_of, as_datetime, client_ip, user_agent
from ..revocation import revoke_session
from ..state import StateUnavailable, complete_state, read_cached
from . import db_keys, stored_entry
from .storage import Loaded, SaveOptions, SessionEnded, Storage
from .unknown_keys import UNKNOWN

logger = logging.getLogger("django_jwtsession")


@functools.lru_cache(maxsize=4096)
def entry_key(session_id: str, kind: str = "db", user_id: object = None) -> str:
    """The cache key of a stored session's payload (``kind``: ``"db"`` or ``"spill"``), in
    its user's hash slot."""
    return stored_session_key(session_hash(session_id), kind, user_id)


def _cache_entry(entry: str, stored: dict[str, str], expires_in: int, *, replace: bool) -> None:
    """Cache a stored session until it expires (``add`` unless ``replace``)."""
    timeout = max(expires_in, 1)
    try:
        if replace:  # tried even while Redis is thought down: never leave older data cached
            cache_access.store(entry, stored, timeout, gated=False)
        else:
            cache_access.add(entry, stored, timeout)  # never over a concurrent writer's newer one
    except cache_access.Unreachable as exc:
        cache_failed(exc, "db sessions are read from the database")
        if replace:  # never leave an older copy behind
            evict_entry(entry)


def evict_entry(entry: str) -> None:
    try:
        cache_access.delete(entry, gated=False)
    except cache_access.Unreachable as exc:
        cache_failed(exc, "a db session could not be evicted from the cache")


def _live_rows(session_id: str, strategy: str) -> Any:
    return SessionRecord.objects.filter(
        session_hash=session_hash(session_id), strategy=strategy, revoked_at=None
    ).exclude(meta="")


Located = tuple[db_keys.DbKey, str, tuple[str, ...], tuple[str, ...]]


@functools.lru_cache(maxsize=4096)
def _locate(key: str, prefix: str, clustered: bool) -> Located | None:
    """A session key's secret and user, its session id, state keys and their cache keys
    (``clustered``: named for a Redis Cluster) — pure: memoized per key and process, as
    the cookie comes back on every request."""
    parsed = db_keys.parse(key, prefix)
    if parsed is None:
        return None
    sid, user_id = parsed.session_id, parsed.user_id
    keys, names = state_entries(user_id, sid) if user_id is not None else ([], [])
    return parsed, sid, tuple(keys), tuple(names)


class TableStorage(Storage):
    """The db strategy's storage; with ``strategy="jwt"`` and the ``s1.`` prefix, where
    a jwt session too large for a token spills."""

    def __init__(self, strategy: str = "db", prefix: str = db_keys.KEY_PREFIX) -> None:
        self.strategy, self._prefix = strategy, prefix
        self._kind = "db" if prefix == db_keys.KEY_PREFIX else "spill"
        self._secret: str | None = None
        self._stored_data: str | None = None  # ``data`` as read: rewritten only if it differs
        self._persisted = False  # a row holds the current secret's session

    def recognizes(self, key: str) -> bool:
        return db_keys.is_db_key(key, self._prefix)

    def new_session_id(self) -> str:
        self._secret = db_keys.new_secret()
        self._stored_data = None
        self._persisted = False
        return db_keys.session_id_for(self._secret)

    # -- reading ----------------------------------------------------------------------------
    def read(self, key: str, now: int) -> Loaded:
        located = _locate(key, self._prefix, clustered())
        if located is None:
            raise MalformedToken("not a db session key")
        parsed, sid, keys, names = located
        user_id = parsed.user_id
        stored, entry, state, refill = self._fetch(sid, user_id, list(keys), list(names))
        if refill:
            expires_in = entry.expires - now
            _cache_entry(entry_key(sid, self._kind, user_id), stored, expires_in, replace=False)
        self._stored_data = stored["data"]
        data = entry.fresh_data()
        lifetime_end = entry.identity.lifetime_start + get_settings().max_lifetime
        if entry.expires <= now or lifetime_end <= now:
            raise ExpiredToken("the session expired")
        self._secret, self._persisted = parsed.secret, True
        return Loaded(data, entry.identity, entry.issued_at, state=state)

    def _fetch(
        self, sid: str, user_id: str | None, keys: list[str], names: list[str]
    ) -> tuple[Any, stored_entry.Entry, Any, bool]:
        """The stored entry (raw and parsed) and (when signed in) the state, in one cache
        round trip; on a miss, in one query. Also whether the entry came from the database
        (to be cached). A key whose hint is not the session's user is refused before
        anything is refilled (its entries would be named with another user's tag)."""
        entry = entry_key(sid, self._kind, user_id)
        hinted = f"{sid}.{user_id or ''}"  # this secret with this hint
        try:
            found, extra = read_cached(keys, names, [entry], hot_path=True)
            stored = extra.get(entry)
            fetched: dict[str, int] | None = None
            refill = looked_up = False
            if not isinstance(stored, dict):
                if sid in UNKNOWN or hinted in UNKNOWN:  # looked up lately: no query again
                    raise UnknownSession("no live session under this key")
                try:
                    stored, fetched = self._from_database(sid, keys, found)
                except UnknownSession:
                    UNKNOWN.add(sid)
                    raise
                refill = found is not None  # the cache is reachable: refill it
                looked_up = True
            parsed = stored_entry.parse(sid, stored)
            if parsed.data.get(SESSION_KEY) != user_id:
                if looked_up:  # another user's hint: no session under this key either
                    UNKNOWN.add(hinted)
                raise MalformedToken("the hint does not belong to this session")
            state = complete_state(keys, names, sid, found, fetched) if keys else None
        except StateUnavailable:
            metrics.count("state.refused")
            raise
        return stored, parsed, state, refill

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
                _live_rows(sid, self.strategy)
                .annotate(**versions)
                .values("data", "meta", *versions)
                .order_by()[:1]  # at most one row (the hash is unique): no ORDER BY
            )
        except DatabaseError as exc:
            logger.warning("jwtsession: the database could not read a session", exc_info=True)
            raise StateUnavailable("database unreachable") from exc
        if not rows:
            raise UnknownSession("no live session under this key")
        row = rows[0]
        fetched = {key: row[f"v{index}"] or 0 for index, key in enumerate(missing)}
        return {"data": row["data"], "meta": row["meta"]}, (fetched if keys else None)

    def peek(self, key: str) -> tuple[str, bool] | None:
        parsed = db_keys.parse(key, self._prefix)
        if parsed is None or not self.exists(key):
            return None
        return parsed.session_id, parsed.user_id is not None

    def exists(self, key: str | None) -> bool:
        parsed = db_keys.parse(key, self._prefix) if key else None
        if parsed is None:
            return False
        sid = parsed.session_id
        try:
            if cache_access.read([entry_key(sid, self._kind, parsed.user_id)]):
                return True
        except cache_access.Unreachable as exc:
            cache_failed(exc, "db sessions are looked up in the database")
        return bool(_live_rows(sid, self.strategy).exists())

    # -- writing ----------------------------------------------------------------------------
    def key_for(self, payload: dict[str, Any]) -> str:
        assert self._secret is not None  # noqa: S101  (set with the session id)
        user_id = payload["dat"].get(SESSION_KEY)
        user = None if user_id is None else str(user_id)
        return db_keys.format_key(self._secret, user, self._prefix)

    def write(self, payload: dict[str, Any], options: SaveOptions) -> str:
        """Write the row (one query) and its cache entry; ``data`` only when it changed.

        The session lives in the database: unlike the jwt strategy's records, a failing
        write fails the request, as with Django's own ``db`` engine.
        """
        key = self.key_for(payload)
        fields = dict(payload)
        sid, data = fields.pop("sid"), strict_json.dumps(fields.pop("dat"))
        meta = strict_json.dumps(fields)
        user_id = payload["dat"].get(SESSION_KEY)
        data_changed = data != self._stored_data
        values: dict[str, Any] = {
            "user_id": None if user_id is None else str(user_id),
            "actor_id": actor_id_of(payload),
            "ip": client_ip(options.client_meta or {}),
            "user_agent": user_agent(options.client_meta or {}),
            "last_seen": timezone.now(),
            "expires": as_datetime(payload["exp"]),
            "meta": meta,
        }
        if data_changed or not self._persisted or options.must_create:
            values["data"] = data
        if self._persisted and not options.must_create:
            if not _live_rows(sid, self.strategy).update(**values):
                self._gone(sid, signed_in=user_id is not None)
        else:
            self._insert(sid, values, options.must_create)
        self._persisted = True
        now = int(payload["iat"])
        entry = entry_key(sid, self._kind, user_id)
        if data_changed:
            stored = {"data": data, "meta": meta}
            _cache_entry(entry, stored, payload["exp"] - now, replace=True)
        else:  # another request may have written newer data: let the next read fetch the row
            evict_entry(entry)
        self._stored_data = data
        return key

    @staticmethod
    def _gone(sid: str, *, signed_in: bool) -> None:
        """The row to update is no longer live: never bring it back.

        A signed-in session's row is revoked by a logout or revocation elsewhere, and
        deleted with its user: the session simply ended (the request completes, the
        cookie goes). An anonymous session's row deleted meanwhile is Django's
        ``UpdateError``, as with Django's own engines (``SessionInterrupted``).
        """
        if signed_in or SessionRecord.objects.filter(session_hash=session_hash(sid)).exists():
            raise SessionEnded("revoked")
        raise UpdateError

    def _insert(self, sid: str, values: dict[str, Any], must_create: bool) -> None:
        record = SessionRecord(
            session_hash=session_hash(sid), strategy=self.strategy, created=values["last_seen"]
        )
        for name, value in values.items():
            setattr(record, name, value)
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            # A jwt session's record, written while it still fit in a token, takes the
            # spilled session in.
            taken = SessionRecord.objects.filter(
                session_hash=session_hash(sid), strategy=self.strategy, revoked_at=None
            ).update(**values)
            if not taken:
                raise
        UNKNOWN.discard(sid)

    def discard(
        self, session_id: str, *, signed_in: bool, reason: str = "revoked", by: str | None = None
    ) -> None:
        """A signed-in session is revoked (its record kept, its data cleared); an
        anonymous one's row is deleted. Either way its cache entry goes."""
        if signed_in:  # revoking also clears the row and evicts the entry
            revoke_session(session_hash(session_id), reason=reason, by=by)
            return
        SessionRecord.objects.filter(session_hash=session_hash(session_id), user=None).delete()
        evict_entry(entry_key(session_id, self._kind))
