"""Accept a session cookie of another kind, for a transition window (``ACCEPT_FROM``).

When the strategy changes, or a project comes from Django's own ``db``,
``cached_db``, ``cache``, ``file`` or ``signed_cookies`` engine, a cookie of the
previous kind is read by that kind's own store — fully verified: signature, expiry,
stored row, and for our strategies the state check — and its session is taken
over by the current strategy, which re-issues the cookie on the same response.
The old session is then ended (revoked, or deleted from Django's store), so the
old cookie cannot be replayed into a second session.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.contrib.sessions.backends import signed_cookies
from django.contrib.sessions.backends.base import SessionBase
from django.db import Error as DatabaseError

from ..claims import Claims
from ..state import StateUnavailable
from .base import ClaimsSessionBase

logger = logging.getLogger("django_jwtsession")
OUR_STRATEGIES = ("jwt", "db")
_DJANGO_KEY = re.compile(r"[a-z0-9]{32}")
_TOKEN = re.compile(r"ey[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){2}((\.[A-Za-z0-9_-]*){2})?")


@dataclass
class Adopted:
    """A verified session of another kind, ready to be taken over."""

    data: dict[str, Any]
    kind: str
    started: int | None = None
    claims: Claims | None = None
    claims_at: int | None = None
    mark_seen: int = 0
    epochs: tuple[int, int] = (0, 0)
    """The revocation epochs the session started under; (0, 0) for Django's engines,
    so a revocation made since this app was installed ends those sessions too."""
    old_session_id: str | None = None
    old_store: SessionBase | None = field(default=None, repr=False)


def engine(path: str) -> Any:
    """The ``SessionStore`` class of a Django session engine path."""
    return import_module(path).SessionStore


def kind_of(value: str, accepted: tuple[str, ...]) -> str | None:
    """The first accepted kind whose cookie format ``value`` has, or None."""
    from .db import is_db_key

    for kind in accepted:
        if kind == "jwt":
            if _TOKEN.fullmatch(value):
                return kind
        elif kind == "db":
            if is_db_key(value):
                return kind
        elif issubclass(engine(kind), signed_cookies.SessionStore):
            if value.count(":") >= 2:
                return kind
        elif _DJANGO_KEY.fullmatch(value):
            return kind
    return None


def read(kind: str, value: str) -> Adopted | None:
    """Read and verify ``value`` with ``kind``'s own store; None when it is not valid.

    Raises ``StateUnavailable`` when one of our strategies could not run its state
    check (the request is then anonymous and the cookie kept).
    """
    if kind in OUR_STRATEGIES:
        return _read_ours(kind, value)
    store = engine(kind)(value)
    try:
        data = store.load()
    except DatabaseError as exc:  # as for our strategies: anonymous now, the cookie kept
        logger.warning("jwtsession: could not read a %s session", kind, exc_info=True)
        raise StateUnavailable(f"the {kind} session could not be read") from exc
    except Exception:  # a broken legacy store must not break the request
        logger.warning("jwtsession: could not read a %s session", kind, exc_info=True)
        return None
    if not data or not isinstance(data, dict):
        return None
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        logger.info("jwtsession: a %s session holds data JSON cannot carry: not taken over", kind)
        return None
    return Adopted(data=dict(data), kind=kind, old_store=store)


def _read_ours(kind: str, value: str) -> Adopted | None:
    from .session import store_class

    store = store_class(kind)(value)
    data = store.load()
    if store.suspended:
        raise StateUnavailable(f"the {kind} session could not be checked")
    if store.session_key is None or not data:
        return None
    return Adopted(
        data=dict(data),
        kind=kind,
        started=store._started,
        claims=store._claims,
        claims_at=store._claims_at,
        mark_seen=store._mark_seen,
        epochs=(store._user_epoch, store._global_epoch),
        old_session_id=store._sid,
    )


def end_old_session(adopted: Adopted) -> None:
    """The old cookie must not start a second session: revoke it, or delete its row."""
    from ..state import revoke_session

    if adopted.old_session_id is not None:
        revoke_session(adopted.old_session_id)
    elif adopted.old_store is not None and not isinstance(
        adopted.old_store, signed_cookies.SessionStore
    ):
        try:
            adopted.old_store.delete()
        except Exception:
            logger.warning("jwtsession: could not delete a %s session", adopted.kind, exc_info=True)


def take_over(store: ClaimsSessionBase, adopted: Adopted) -> dict[str, Any]:
    """Make ``adopted`` the current session of ``store`` under a new id; return its data."""
    store._new_identity(keep_start=False)
    if adopted.started is not None:
        store._started = adopted.started  # MAX_LIFETIME still counts from the first login
    store._claims, store._claims_at = adopted.claims, adopted.claims_at
    store._mark_seen = adopted.mark_seen
    store._user_epoch, store._global_epoch = adopted.epochs
    store._epochs_stale = False  # keep the verified epochs: a later revocation still applies
    store._adopted_from = adopted
    store.modified = True
    logger.info("jwtsession: a %s session taken over by %s", adopted.kind, store.strategy)
    return adopted.data
