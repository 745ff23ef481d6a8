"""The state check: is this session revoked, and are its claims marked stale?

The hot path asks one question per authenticated request: is this session revoked,
were this user's sessions or all sessions revoked after it started, and is the user's
mark version newer than the one its claims were built against? With django-redis the
pushed mirror answers it in-process while it is current (:mod:`~django_jwtsession.mirror`);
otherwise it costs ONE cache round trip (``get_many``). A cache miss reads the database
once and refills the cache; an unreachable cache falls back to the database. The writers
(marks and revocations) are in :mod:`django_jwtsession.revocation`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NamedTuple

from django.db import Error as DatabaseError

from . import cache_access, listener, metrics
from .conf import get_settings
from .derived import register_reset
from .keyspace import cache_keys, session_key, state_entries, state_keys
from .mirror import MIRROR
from .outage import cache_answered, cache_failed
from .pending import entries as entries, from_database as from_database

logger = logging.getLogger("django_jwtsession")


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


_memo: dict[tuple[str, str | None], tuple[float, State]] = {}
_MEMO_MAX_ENTRIES = 10_000
register_reset(_memo.clear)


def forget_memo() -> None:
    """This process wrote a mark or revocation: it sees its own writes at once."""
    _memo.clear()


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
    recalled = MIRROR.recall((user_id, session_id))  # the same entries, unchanged: no work
    if recalled is not None:
        metrics.count("mirror.hits")
        metrics.count("state.hit")
        return recalled  # type: ignore[no-any-return]
    ticket = MIRROR.ticket()
    keys, names = state_entries(user_id, session_id)
    try:
        found, _ = read_cached(keys, names, [], hot_path=hot_path)
        state = complete_state(keys, names, session_id, found)
    except StateUnavailable:
        metrics.count("state.refused")
        raise
    MIRROR.remember((user_id, session_id), state, names, ticket)
    if memo_seconds:
        if len(_memo) >= _MEMO_MAX_ENTRIES:
            _memo.clear()
        _memo[(user_id, session_id)] = (time.monotonic() + memo_seconds, state)
    return state


def read_state_from_database(user_id: str, session_id: str | None) -> State:
    """The state as the database has it, past any cache (for a doubtful answer)."""
    keys = state_keys(user_id, session_id)
    return complete_state(keys, [], session_id, None, _from_database_or_raise(keys))


def read_cached(
    keys: list[str], names: list[str], extra_keys: list[str], *, hot_path: bool
) -> tuple[dict[str, int] | None, dict[str, Any]]:
    """The state entries ``keys`` (cache keys ``names``: ``keyspace.state_entries``) and a
    caller's ``extra_keys``: from the pushed mirror while it is current, else in ONE cache
    round trip (:mod:`~django_jwtsession.cache_access`).

    Returns the state values found (None when the cache is unreachable: the caller
    falls back to the database) and the extra entries found. Raises
    :class:`StateUnavailable` instead when ``ON_CACHE_OUTAGE`` is ``"refuse"`` and
    this is an incoming session's check (``hot_path``).
    """
    listener.ensure()  # this process's mirror listener, started on first use
    try:
        cached = cache_access.read([*names, *extra_keys] if extra_keys else names)
    except cache_access.Unreachable as exc:
        if hot_path and get_settings().on_cache_outage == "refuse":
            cache_failed(exc, "signed-in requests are refused (ON_CACHE_OUTAGE = 'refuse')")
            raise StateUnavailable("cache unreachable") from exc
        cache_failed(exc, "the state of each session is read from the database")
        metrics.count("state.fallback")
        return None, {}
    cache_answered()
    found = {key: cached[name] for key, name in zip(keys, names, strict=True) if name in cached}
    return found, {key: cached[key] for key in extra_keys if key in cached}


def complete_state(
    keys: list[str],
    names: list[str],
    session_id: str | None,
    found: dict[str, int] | None,
    fetched: dict[str, int] | None = None,
) -> State:
    """The state from what the cache had (``found``, None after an outage); the rest
    from the database, or from ``fetched`` when the caller already read it, and refilled
    in the cache under ``names`` (the cache keys of ``keys``)."""
    if found is None:
        values = fetched if fetched is not None else _from_database_or_raise(keys)
    else:
        values = dict(found)
        missing = [key for key in keys if key not in values]
        if missing:
            metrics.count("state.miss")
            read = fetched if fetched is not None else _from_database_or_raise(missing)
            refill = {key: read.get(key, 0) for key in missing}
            named = zip(keys, names, strict=True)
            mirror_missing({name: refill[key] for key, name in named if key in refill})
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
        return from_database(keys)
    except DatabaseError as exc:
        logger.warning("jwtsession: the database could not answer the state check", exc_info=True)
        raise StateUnavailable("database unreachable") from exc


def start_session(user_id: str, session_id: str) -> State:
    """State for a session id just created: read the epochs, and note that the new id
    is not revoked (:func:`new_session_id_issued`)."""
    state = read_state(user_id, None)
    new_session_id_issued(session_id, user_id)
    return state


def new_session_id_issued(session_id: str, user_id: object) -> None:
    """Note in the cache that a new session id of ``user_id`` is not revoked (it cannot be
    yet), so its first request's state check hits the cache. Nothing for an anonymous
    session (``user_id`` None): no state check reads it."""
    if user_id is not None:
        (name,) = cache_keys(session_key(session_id), (str(user_id),))
        mirror_missing({name: 0})


def mirror_missing(values: dict[str, int]) -> None:
    """Refill (cache keys to values) with ``add``: a concurrent writer's fresher ``set`` is
    never overwritten."""
    timeout = get_settings().state_cache_timeout
    try:
        for name, value in values.items():
            cache_access.add(name, value, timeout)
    except cache_access.Unreachable as exc:
        cache_failed(exc, "the state cache is not refilled")
