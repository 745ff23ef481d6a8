"""Session history: an ended session's record is kept, with when, why and by whom it ended.

Every way a session ends goes through :func:`end_records` (the revocation functions call it
in their transaction): the matching live records are stamped ``revoked_at`` (when),
``end_reason`` (why) and ``ended_by`` (who), the ``db`` strategy's data is cleared and its
cache entries evicted, and ``session_ended`` is sent on commit, once per signed-in session.
``clearsessions`` (:func:`prune_records`) ends the records of expired sessions (reason
``"lifetime"``) and deletes ended records older than ``HISTORY_RETENTION``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import cache_access
from .conf import get_settings
from .end_reasons import NOT_AN_END, EndReason
from .keyspace import STORED_KINDS, stored_session_key
from .outage import cache_failed
from .signals import session_ended

if TYPE_CHECKING:
    from .models import SessionRecord

BATCH = 1000
"""Records ended per statement (``revoke_all()`` ends them all, a batch at a time)."""


def _records() -> type[SessionRecord]:
    from .models import SessionRecord

    return SessionRecord


def end_records(
    *,
    session_hashes: list[str] | None = None,
    user_ids: list[str] | None = None,
    keep_hash: str | None = None,
    reason: str = EndReason.REVOKED,
    by: str | None = None,
) -> int:
    """End the matching live records (every one when no filter is given) for ``reason``,
    ``by`` a user id (or None); return how many. Run it in a transaction: the rows are
    locked while they are stamped, so each ended session is announced once."""
    records = _records().objects.filter(revoked_at=None)
    if session_hashes is not None:
        records = records.filter(session_hash__in=session_hashes)
    if user_ids is not None:
        records = records.filter(user_id__in=user_ids)
    if keep_hash is not None:
        records = records.exclude(session_hash=keep_hash)
    return _end(records, reason, by, timezone.now())


def _end(records: QuerySet[SessionRecord], reason: str, by: str | None, at: Any) -> int:
    """Stamp ``records`` ended, a batch at a time; evict the ``db`` ones from the cache and
    send ``session_ended`` on commit."""
    ended: list[tuple[str, Any]] = []
    stored: list[str] = []
    count, after = 0, None
    while True:
        batch = records.order_by("pk") if after is None else records.filter(pk__gt=after)
        rows = list(
            batch.order_by("pk")
            .select_for_update()
            .values_list("pk", "session_hash", "user_id", "meta")[:BATCH]
        )
        if not rows:
            break
        count += records.filter(pk__in=[row[0] for row in rows]).update(
            revoked_at=at, end_reason=reason, ended_by_id=by, data="", meta=""
        )
        ended.extend((row[1], row[2]) for row in rows if row[2] is not None)
        stored.extend(row[1] for row in rows if row[3])
        if len(rows) < BATCH:
            break
        after = rows[-1][0]
    if stored:
        _evict_stored_sessions(stored)
        transaction.on_commit(lambda: _evict_stored_sessions(stored))  # after any re-add
    if ended and reason not in NOT_AN_END:
        transaction.on_commit(lambda: _announce(ended, reason, by))
    return count


def end_found_over(public_id: str, user_id: str | None, reason: str) -> bool:
    """A session its own request found over (its user deactivated, its password or
    ``SECRET_KEY`` changed behind our back): its record ends in one ``UPDATE``, with no
    revocation written (the same check ends any copy of its cookie). True if it was live."""
    count = (
        _records()
        .objects.filter(session_hash=public_id, revoked_at=None)
        .update(revoked_at=timezone.now(), end_reason=reason, data="", meta="")
    )
    if count:
        _evict_stored_sessions([public_id])
        if user_id is not None:
            transaction.on_commit(lambda: _announce([(public_id, user_id)], reason, None))
    return bool(count)


def _announce(ended: list[tuple[str, Any]], reason: str, by: str | None) -> None:
    for public_id, user_id in ended:
        session_ended.send(
            sender=_records(), session_id=public_id, user_id=str(user_id), reason=reason, by=by
        )


def _evict_stored_sessions(hashes: list[str]) -> None:
    """Drop the db strategy's cached sessions (their revocation is checked anyway)."""
    try:
        for start in range(0, len(hashes), 500):
            batch = hashes[start : start + 500]
            cache_access.delete_many(
                [stored_session_key(value, kind) for value in batch for kind in STORED_KINDS]
            )
    except cache_access.Unreachable as exc:
        cache_failed(exc, "revoked db sessions stay cached (their revocation is checked anyway)")


def prune_records() -> int:
    """``clearsessions``: end the records of expired sessions (reason ``"lifetime"``, at
    their expiry), then delete anonymous ones and ended ones older than
    ``HISTORY_RETENTION``; return how many were deleted.

    A db session's record is the session: it ends once expired. A jwt session's token
    may have slid up to ``UPDATE_AGE`` past its record's ``expires`` (a data change
    re-issues the token without writing the record), so its record ends that much later.
    """
    settings = get_settings()
    now = timezone.now()
    slack = now - timedelta(seconds=settings.update_age)
    expired = Q(strategy="db", expires__lt=now) | (~Q(strategy="db") & Q(expires__lt=slack))
    records = _records().objects
    deleted, _ = records.filter(expired, revoked_at=None, user=None).delete()
    with transaction.atomic():
        _end(records.filter(expired, revoked_at=None), EndReason.LIFETIME, None, F("expires"))
    horizon = now - timedelta(seconds=settings.history_retention)
    old, _ = records.filter(revoked_at__lt=horizon).delete()
    return deleted + old


def ended_at() -> Coalesce:
    """When a record's session ended: ``revoked_at``, or its expiry (not ended by
    ``clearsessions`` yet)."""
    return Coalesce("revoked_at", "expires")


def recent_ended(user_id: Any, limit: int = 20) -> QuerySet[SessionRecord]:
    """A user's sessions that ended within ``HISTORY_RETENTION``, the latest first (those
    that went on under a new id left out), annotated with ``ended``."""
    horizon = timezone.now() - timedelta(seconds=get_settings().history_retention)
    return (
        _records()
        .objects.filter(user_id=user_id)
        .ended()
        .exclude(end_reason__in=NOT_AN_END)
        .annotate(ended=ended_at())
        .filter(ended__gte=horizon)
        .order_by("-ended", "-pk")[:limit]
    )
