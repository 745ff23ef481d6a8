"""Marks and revocations: the database holds the truth, the cache mirrors it.

The hot path asks one question per authenticated request, in ONE cache round
trip (``get_many``): is this session revoked, were this user's sessions or all
sessions revoked after it started, and is the user's mark version newer than
the one its claims were built against? A cache miss reads the database once and
refills the cache; an unreachable cache falls back to the database. Writers bump
counters with F-expressions in the writer's transaction, drop the cache entries,
and copy the committed values to the cache on commit.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.cache import caches
from django.db import Error as DatabaseError, transaction
from django.db.models import F, Model, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from . import metrics
from .conf import get_settings, register_reset
from .records import revoke_records
from .signals import session_revoked, user_marked

if TYPE_CHECKING:
    from .models import StateEntry

logger = logging.getLogger("django_jwtsession")
CACHE_PREFIX = "jwtsession:"
_HASH = re.compile(r"[0-9a-f]{64}")
GLOBAL_EPOCH = "g:r"


class StateUnavailable(Exception):
    """Neither the cache nor (where allowed) the database could answer the state check."""


class State(NamedTuple):
    mark: int
    """The user's mark version: claims built against an older one are stale."""
    user_epoch: int
    """The user's revocation epoch: sessions started under an older one are over."""
    global_epoch: int
    """The global revocation epoch (``revoke_all``)."""
    session_revoked: bool


def session_hash(session_id: str) -> str:
    """What is stored about a session id: never the id itself."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def stored_session_key(hashed: str) -> str:
    """The cache key of a db-strategy session, by its stored hash."""
    return f"{CACHE_PREFIX}db:{hashed}"


def mark_key(user_id: object) -> str:
    return f"u:{user_id}:m"


def epoch_key(user_id: object) -> str:
    return f"u:{user_id}:r"


def session_key(session_id: str) -> str:
    return f"s:{session_hash(session_id)}"  # revoke_session_hashes() builds it from the hash


def _cache() -> Any:
    return caches[get_settings().cache_alias]


def _entries() -> type[StateEntry]:
    """The ``StateEntry`` model, imported late: this module loads before the app registry."""
    from .models import StateEntry

    return StateEntry


def _from_database(keys: list[str]) -> dict[str, int]:
    found = dict(_entries().objects.filter(key__in=keys).values_list("key", "version"))
    return {key: found.get(key, 0) for key in keys}


_unmirrored: set[str] = set()
"""Keys whose committed values could not be copied to the cache: retried after each request."""
_unmirrored_lock = threading.Lock()


def _mirror_committed(keys: list[str]) -> None:
    """Copy committed values to the cache; on failure, remember the keys to retry."""
    try:
        values = _from_database(keys)
        for _ in range(3):  # a concurrent writer may set an older value over a newer one:
            _cache().set_many(  # re-read, and write again until the database agrees
                {CACHE_PREFIX + key: value for key, value in values.items()},
                get_settings().state_cache_timeout,
            )
            latest = _from_database(keys)
            if latest == values:
                break
            values = latest
    except Exception:  # the write is safe in the database; the cache may lag: say so, retry
        with _unmirrored_lock:
            _unmirrored.update(keys)
        logger.error(
            "jwtsession: a mark or revocation could not be copied to the cache; it is retried "
            "after this process's next request, and readers see it at the latest when the "
            "cached entry expires (STATE_CACHE_TIMEOUT)",
            exc_info=True,
        )
    else:
        with _unmirrored_lock:
            _unmirrored.difference_update(keys)


def retry_unmirrored(**kwargs: Any) -> bool:
    """Copy what an earlier mirror could not (cheap when none); True when nothing is left.

    Connected to ``request_finished``; commands and task workers call it after writing.
    """
    if not _unmirrored:
        return True
    with _unmirrored_lock:
        keys = sorted(_unmirrored)
    _mirror_committed(keys)
    return not _unmirrored


_memo: dict[tuple[str, str | None], tuple[float, State]] = {}
_MEMO_MAX_ENTRIES = 10_000
register_reset(_memo.clear)


def read_state(user_id: str, session_id: str | None, *, hot_path: bool = False) -> State:
    """The state check: one cache round trip; the database on a miss or a cache outage.

    With ``STATE_MEMO_SECONDS`` set, answers are remembered in this process for that
    long: zero round trips, at the price of seeing other processes' marks and
    revocations up to that many seconds late (this process's own at once).

    On the ``hot_path`` (an incoming session's check) with ``ON_CACHE_OUTAGE =
    "refuse"``, an unreachable cache raises :class:`StateUnavailable` instead of
    reading the database; so does a failing database in either mode.
    """
    memo_seconds = get_settings().state_memo_seconds
    if memo_seconds:
        remembered = _memo.get((user_id, session_id))
        if remembered is not None and remembered[0] > time.monotonic():
            metrics.count("state.memo")
            return remembered[1]
    keys = state_keys(user_id, session_id)
    try:
        found, _ = read_cached(keys, [], hot_path=hot_path)
        state = complete_state(keys, session_id, found)
    except StateUnavailable:
        metrics.count("state.refused")
        raise
    if memo_seconds:
        if len(_memo) >= _MEMO_MAX_ENTRIES:
            _memo.clear()
        _memo[(user_id, session_id)] = (time.monotonic() + memo_seconds, state)
    return state


def state_keys(user_id: str, session_id: str | None) -> list[str]:
    """The entries the state check reads for this user (and session)."""
    keys = [mark_key(user_id), epoch_key(user_id), GLOBAL_EPOCH]
    if session_id is not None:
        keys.append(session_key(session_id))
    return keys


def read_cached(
    keys: list[str], extra_keys: list[str], *, hot_path: bool
) -> tuple[dict[str, int] | None, dict[str, Any]]:
    """ONE cache round trip for the state entries ``keys`` and a caller's ``extra_keys``.

    Returns the state values found (None when the cache is unreachable: the caller
    falls back to the database) and the extra entries found. Raises
    :class:`StateUnavailable` instead when ``ON_CACHE_OUTAGE`` is ``"refuse"`` and
    this is an incoming session's check (``hot_path``).
    """
    try:
        cached = _cache().get_many([CACHE_PREFIX + key for key in keys] + extra_keys)
    except Exception as exc:
        if hot_path and get_settings().on_cache_outage == "refuse":
            logger.warning("jwtsession: cache unreachable, session refused (ON_CACHE_OUTAGE)")
            raise StateUnavailable("cache unreachable") from exc
        logger.warning("jwtsession: cache unreachable, state read from the database", exc_info=True)
        metrics.count("state.fallback")
        return None, {}
    found = {key: cached[CACHE_PREFIX + key] for key in keys if CACHE_PREFIX + key in cached}
    return found, {key: cached[key] for key in extra_keys if key in cached}


def complete_state(
    keys: list[str],
    session_id: str | None,
    found: dict[str, int] | None,
    fetched: dict[str, int] | None = None,
) -> State:
    """The state from what the cache had (``found``, None after an outage); the rest
    from the database, or from ``fetched`` when the caller already read it."""
    if found is None:
        values = fetched if fetched is not None else _from_database_or_raise(keys)
    else:
        values = dict(found)
        missing = [key for key in keys if key not in values]
        if missing:
            metrics.count("state.miss")
            read = fetched if fetched is not None else _from_database_or_raise(missing)
            refill = {key: read.get(key, 0) for key in missing}
            _mirror_missing(refill)
            values.update(refill)
        else:
            metrics.count("state.hit")
    return State(
        mark=values.get(keys[0], 0),
        user_epoch=values.get(keys[1], 0),
        global_epoch=values.get(keys[2], 0),
        session_revoked=bool(session_id is not None and values.get(keys[3], 0)),
    )


def _from_database_or_raise(keys: list[str]) -> dict[str, int]:
    try:
        return _from_database(keys)
    except DatabaseError as exc:
        logger.warning("jwtsession: the database could not answer the state check", exc_info=True)
        raise StateUnavailable("database unreachable") from exc


def start_session(user_id: str, session_id: str) -> State:
    """State for a session id just created: read the epochs, and note in the cache
    that the new id is not revoked (it cannot be yet), so its first request hits."""
    state = read_state(user_id, None)
    _mirror_missing({session_key(session_id): 0})
    return state


def _mirror_missing(values: dict[str, int]) -> None:
    """Refill with ``add``: a concurrent writer's fresher ``set`` is never overwritten."""
    cache = _cache()
    timeout = get_settings().state_cache_timeout
    try:
        for key, value in values.items():
            cache.add(CACHE_PREFIX + key, value, timeout)
    except Exception:
        logger.warning("jwtsession: could not refill the state cache", exc_info=True)


def bump(keys: Iterable[str], *, using: str | None = None) -> None:
    """Grow each counter by one (creating it at 1) in the current transaction.

    The counters commit (or roll back) with the change that caused them, so a mark
    is never lost and never announces a change that did not happen. The cache
    entries are dropped now (a reader refills them from the database) and set to
    the committed values on commit; if that fails, the keys are retried after the
    next request of this process, and in the worst case the old cache entry lives
    until ``STATE_CACHE_TIMEOUT``.
    """
    keys = sorted(set(keys))
    if not keys:
        return
    _memo.clear()  # this process sees its own writes at once
    try:
        _cache().delete_many([CACHE_PREFIX + key for key in keys])
    except Exception:
        logger.warning("jwtsession: cache unreachable, state written to the database only")
    entries = _entries()
    with transaction.atomic(using=using):
        entries.objects.bulk_create([entries(key=key) for key in keys], ignore_conflicts=True)
        entries.objects.filter(key__in=keys).update(version=F("version") + 1)
    transaction.on_commit(lambda: _mirror_committed(keys), using=using)


def _send_on_commit(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=_entries(), **kwargs))


def user_ids(users: Model | QuerySet[Any] | Iterable[Any] | Any) -> list[str]:
    """User ids from a user, a primary key, a queryset or an iterable of either."""
    if isinstance(users, QuerySet):
        return [str(pk) for pk in users.values_list("pk", flat=True)]
    if isinstance(users, Model):
        return [str(users.pk)]
    if isinstance(users, (str, int)):
        return [str(users)]
    return [item for user in users for item in user_ids(user)]


def mark_for_refresh(users: Model | QuerySet[Any] | Iterable[Any] | Any) -> None:
    """Mark users' claims stale: their next request, on any device, rebuilds them.

    Accepts a user, a primary key, a queryset or an iterable. Written in the
    current transaction, so it commits with the change that caused it.
    """
    ids = user_ids(users)
    if not ids:  # e.g. a new group: nobody to mark, nothing to announce
        return
    bump(mark_key(pk) for pk in ids)
    _send_on_commit(user_marked, user_ids=ids)


def revoke_user(users: Model | QuerySet[Any] | Iterable[Any] | Any, *, keep: Any = None) -> None:
    """End every session of these users (log out everywhere).

    ``keep=request.session`` keeps the current session: it is re-issued under the
    new epoch when the response is saved.
    """
    ids = user_ids(users)
    if not ids:
        return
    kept = getattr(keep, "session_id", None) if keep is not None else None
    with transaction.atomic():
        bump(epoch_key(pk) for pk in ids)
        revoke_records(user_ids=ids, keep_hash=session_hash(kept) if kept else None)
    metrics.count("revoke.user", len(ids))
    _send_on_commit(session_revoked, scope="user", user_ids=ids, session_ids=[], session_hashes=[])
    if keep is not None and hasattr(keep, "keep_after_revocation"):
        keep.keep_after_revocation()


def revoke_all() -> None:
    """End every session of every user."""
    with transaction.atomic():
        bump([GLOBAL_EPOCH])
        revoke_records()
    metrics.count("revoke.all")
    _send_on_commit(session_revoked, scope="all", user_ids=[], session_ids=[], session_hashes=[])


def revoke_session(session_id: str) -> None:
    """End one session (by its opaque ``session_id``)."""
    _revoke_hashes([session_hash(session_id)], session_ids=[session_id])


def revoke_session_hashes(hashes: Iterable[str]) -> None:
    """End sessions known by their stored hash (``SessionRecord.session_hash``), as the
    admin does: it never sees a session id."""
    hashes = sorted(set(hashes))
    bad = [value for value in hashes if not _HASH.fullmatch(value)]
    if bad:
        raise ValueError(f"Not a session hash (64 lowercase hex digits): {bad[0]!r}")
    _revoke_hashes(hashes, session_ids=[])


def _revoke_hashes(hashes: list[str], session_ids: list[str]) -> None:
    if not hashes:
        return
    with transaction.atomic():
        bump(f"s:{value}" for value in hashes)
        revoke_records(session_hashes=hashes)
    metrics.count("revoke.session", len(hashes))
    _send_on_commit(
        session_revoked,
        scope="session",
        user_ids=[],
        session_ids=session_ids,
        session_hashes=hashes,
    )


def prune_revoked_sessions() -> int:
    """Delete revoked-session entries that no live token can need; return how many."""
    horizon = timezone.now() - timedelta(seconds=get_settings().max_lifetime)
    deleted, _ = _entries().objects.filter(key__startswith="s:", updated__lt=horizon).delete()
    return deleted
