"""Marks and revocations: the database holds the truth, the cache mirrors it.

Writers bump counters with F-expressions in the writer's transaction, drop the
cache entries, and copy the committed values to the cache on commit. The state
check that reads them is :mod:`django_jwtsession.state`.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Model, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from . import cache_access, metrics
from .conf import get_settings
from .end_reasons import end_reason
from .history import end_records
from .keyspace import (
    GLOBAL_EPOCH,
    clustered,
    epoch_key,
    mark_key,
    revoked_key,
    session_hash,
)
from .outage import cache_failed
from .pending import (
    _unmirrored as _unmirrored,  # the keys this process could not copy (tests clear it)
    cache_names,
    copy_committed,
    entries,
    retry_unmirrored as retry_unmirrored,
)
from .records import acted_in
from .signals import session_revoked, user_marked
from .state import forget_memo

logger = logging.getLogger("django_jwtsession")
_HASH = re.compile(r"[0-9a-f]{64}")


def bump(keys: Iterable[str], *, using: str | None = None) -> None:
    """Grow each counter by one (creating it at 1) in the current transaction.

    The counters commit (or roll back) with the change that caused them, so a mark
    is never lost and never announces a change that did not happen. The cache
    entries are dropped now (a reader refills them from the database) and set to
    the committed values on commit. The new versions are flagged ``pending`` in the
    same transaction until the cache has them: if the copy fails, or the cache was
    already unreachable (then the writer does not wait for it again), any process's
    mirror listener copies them within ``REPLAY_SECONDS`` (``pending.py``). A writer
    waits at most ``CACHE_SOCKET_TIMEOUT`` per cache call (django-redis). On a Redis
    Cluster every node that answers is written, whichever node does not.
    """
    keys = sorted(set(keys))
    if not keys:
        return
    forget_memo()
    reachable = True
    names = cache_names(keys)  # on a cluster, a session's entry is named with its user's tag
    try:
        cache_access.delete_many([name for key in keys for name in names.of[key]] + names.swept)
    except cache_access.Unreachable as exc:
        # A Redis Cluster node down is not the others: they were written, and may be
        # refilled with the old value before the commit, so the copy is still tried there.
        reachable = clustered()
        cache_failed(exc, "marks and revocations are written to the database first")
    model = entries()
    with transaction.atomic(using=using):
        model.objects.bulk_create([model(key=key) for key in keys], ignore_conflicts=True)
        model.objects.filter(key__in=keys).update(version=F("version") + 1, pending=True)
    transaction.on_commit(
        lambda: copy_committed(keys, reachable=reachable, names=names), using=using
    )


def _send_on_commit(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=entries(), **kwargs))


def user_ids(users: Model | QuerySet[Any] | Iterable[Any] | Any) -> list[str]:
    """User ids from a user, a primary key (of any type), a queryset or an iterable of them.

    Each id is spelled as Django stores it in the session (``value_to_string``).
    """
    if isinstance(users, QuerySet):
        return [_pk_string(pk) for pk in users.values_list("pk", flat=True)]
    if isinstance(users, Model):
        return [_pk_string(users.pk)]
    if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
        return [_pk_string(users)]
    return [item for user in users for item in user_ids(user)]


def _pk_string(pk: Any) -> str:
    field = get_user_model()._meta.pk
    assert field is not None  # noqa: S101  (every concrete model has a primary key)
    with suppress(Exception):  # a value the field refuses names nobody: keep its text
        pk = field.to_python(pk)  # "7" and 7, or a UUID and its text, are one user
    return str(pk)


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


def actor(by: Any) -> str | None:
    """Who ended a session, as a user id string: from a user (``request.user``: a claims
    user answers without a query), a primary key, or None (nobody: the system)."""
    if hasattr(by, "is_authenticated") or isinstance(by, Model):
        by = by.pk if getattr(by, "is_authenticated", True) else None
    if by is None:
        return None
    field = get_user_model()._meta.pk
    assert field is not None  # noqa: S101  (every concrete model has a primary key)
    try:
        return str(field.to_python(by))
    except Exception:  # not a primary key of this user model: nobody in particular
        return None


def revoke_user(
    users: Model | QuerySet[Any] | Iterable[Any] | Any,
    *,
    keep: Any = None,
    reason: str | None = None,
    by: Any = None,
) -> None:
    """End every session of these users (log out everywhere), and the sessions they act in
    (their impersonations of others).

    ``keep=request.session`` keeps the current session: it is re-issued under the
    new epoch when the response is saved. ``reason`` (an ``EndReason``; default
    ``"revoked"``) and ``by`` (a user or primary key) go to the session history.
    """
    why, who = end_reason(reason), actor(by)
    ids = user_ids(users)
    if not ids:
        return
    kept = getattr(keep, "session_id", None) if keep is not None else None
    keep_hash = session_hash(kept) if kept else None
    with transaction.atomic():
        bump(epoch_key(pk) for pk in ids)
        end_records(user_ids=ids, keep_hash=keep_hash, reason=why, by=who)
        acting = acted_in(ids, keep_hash)  # another user's session, not under their epoch
        if acting:
            bump(revoked_key(value) for value in acting)
            end_records(session_hashes=acting, reason=why, by=who)
    metrics.count("revoke.user", len(ids))
    _send_on_commit(session_revoked, scope="user", user_ids=ids, session_ids=[])
    if acting:
        _send_on_commit(session_revoked, scope="session", user_ids=[], session_ids=acting)
    if keep is not None and hasattr(keep, "keep_after_revocation"):
        keep.keep_after_revocation()


def revoke_all(*, reason: str | None = None, by: Any = None) -> None:
    """End every session of every user."""
    why, who = end_reason(reason), actor(by)
    with transaction.atomic():
        bump([GLOBAL_EPOCH])
        end_records(reason=why, by=who)
    metrics.count("revoke.all")
    _send_on_commit(session_revoked, scope="all", user_ids=[], session_ids=[])


def revoke_session(session_id: str, *, reason: str | None = None, by: Any = None) -> bool:
    """End one session, by its public id: ``request.session.public_id``, the ``id`` the REST
    API, "my sessions" and the signals give (the hash of the session's secret id).

    True when a session had that id and was not revoked yet; False when none did (unknown,
    or revoked already). The revocation is written either way, so a session whose record
    is missing ends too. A value that cannot be a public id raises ``ValueError``.
    ``reason`` and ``by``: as for :func:`revoke_user`.
    """
    return revoke_sessions([session_id], reason=reason, by=by) > 0


def revoke_sessions(
    session_ids: Iterable[str], *, reason: str | None = None, by: Any = None
) -> int:
    """End sessions by their public ids (see :func:`revoke_session`); return how many of
    them were live sessions not revoked yet."""
    if isinstance(session_ids, str):
        raise TypeError("revoke_sessions() takes a list of public ids: use revoke_session(id)")
    why, who = end_reason(reason), actor(by)
    ids = sorted(set(session_ids))
    bad = [value for value in ids if not isinstance(value, str) or not _HASH.fullmatch(value)]
    if bad:
        raise ValueError(
            f"Not a public session id: {bad[0]!r}. A public id is 64 lowercase hexadecimal "
            "digits: request.session.public_id, or the id the REST API, 'my sessions' and the "
            "admin show."
        )
    if not ids:
        return 0
    with transaction.atomic():
        bump(revoked_key(value) for value in ids)
        count = end_records(session_hashes=ids, reason=why, by=who)
    metrics.count("revoke.session", len(ids))
    _send_on_commit(session_revoked, scope="session", user_ids=[], session_ids=ids)
    return count


def revoke_session_hashes(hashes: Iterable[str]) -> int:
    """Deprecated: the hashes are the public ids; use :func:`revoke_sessions`."""
    warnings.warn(
        "revoke_session_hashes() is deprecated: use revoke_sessions() (the same public ids).",
        DeprecationWarning,
        stacklevel=2,
    )
    return revoke_sessions(hashes)


def prune_revoked_sessions() -> int:
    """Delete revoked-session entries that no live token can need; return how many."""
    horizon = timezone.now() - timedelta(seconds=get_settings().max_lifetime)
    deleted, _ = entries().objects.filter(key__startswith="s:", updated__lt=horizon).delete()
    return deleted
