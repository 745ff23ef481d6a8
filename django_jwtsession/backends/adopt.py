"""Accept a session cookie of another kind, for a transition window (``ACCEPT_FROM``).

When the strategy changes, or a project comes from Django's own ``db``,
``cached_db``, ``cache``, ``file`` or ``signed_cookies`` engine, a cookie of the
previous kind is read by that kind's own storage or store — fully verified:
signature, expiry, stored row — and handed to the current store as a
:class:`~django_jwtsession.backends.storage.Loaded` with an ``origin``. The store
checks it like its own sessions (revocation, claims), takes it over under a new
session id, re-issues the cookie on the same response, then ends the old session
(:func:`end`) — also when the request signs out before saving — so the old cookie
cannot be replayed into a second session (Django's ``signed_cookies`` sessions cannot
be ended on the server: they are taken over until ``ACCEPT_FROM`` drops them).
"""

from __future__ import annotations

import json
import logging
import re
from importlib import import_module
from typing import Any

from django.contrib.sessions.backends import signed_cookies
from django.db import Error as DatabaseError

from ..conf import get_settings
from ..exceptions import TokenError
from ..identity import SessionIdentity
from ..keyspace import session_hash
from ..revocation import revoke_session
from ..state import StateUnavailable
from .db_keys import is_db_key
from .storage import Loaded, Origin, Storage
from .strategies import STORAGES
from .token_storage import is_session_key

logger = logging.getLogger("django_jwtsession")
_DJANGO_KEY = re.compile(r"[a-z0-9]{32}")


def engine(path: str) -> Any:
    """The ``SessionStore`` class of a Django session engine path."""
    return import_module(path).SessionStore


def kind_of(value: str, accepted: tuple[str, ...]) -> str | None:
    """The first accepted kind whose cookie format ``value`` has, or None."""
    for kind in accepted:
        if kind == "jwt":
            if is_session_key(value):  # a token, or a jwt session spilled to its record
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


def read(value: str, storage: Storage, now: int) -> Loaded | None:
    """``value`` read by the accepted kind it belongs to, to be taken over by ``storage``;
    None when it is of no accepted kind or does not verify (a session too large for a
    token is taken over all the same: it spills to its record).

    Raises ``StateUnavailable`` when the old session could not be read for now (the
    request is then anonymous and the cookie kept).
    """
    accepted = tuple(kind for kind in get_settings().accept_from if kind != storage.strategy)
    kind = kind_of(value, accepted) if accepted else None
    if kind is None:
        return None
    if kind in STORAGES:
        loaded = _read_ours(kind, value, now)
    else:
        loaded = _read_django(kind, value, storage, now)
    return loaded


def _read_ours(kind: str, value: str, now: int) -> Loaded | None:
    """Our other strategy's session, as its storage reads it (the store checks it)."""
    try:
        loaded = STORAGES[kind]().read(value, now)
    except TokenError:
        return None
    origin = Origin(kind, session_id=loaded.identity.session_id)
    return loaded._replace(origin=origin)


def _read_django(kind: str, value: str, storage: Storage, now: int) -> Loaded | None:
    """A Django engine's session, read by its own store, under a new session id of ours.

    It starts under revocation epochs 0: a revocation made since this app was
    installed ends it too.
    """
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
    # It starts at the request's ``now``, the time its claims are built at: a second
    # ticking over in between would make them older than the session (sat <= cat).
    identity = SessionIdentity.new(storage.new_session_id(), started=now)
    return Loaded(dict(data), identity, issued_at=0, origin=Origin(kind, store=store))


def end(origin: Origin | None) -> None:
    """The old cookie must not start a second session: revoke it, or delete its row."""
    if origin is None:
        return
    if origin.session_id is not None:
        revoke_session(session_hash(origin.session_id), reason="cycled")  # it goes on here
    elif origin.store is not None and not isinstance(origin.store, signed_cookies.SessionStore):
        try:
            origin.store.delete()
        except Exception:
            logger.warning("jwtsession: could not delete a %s session", origin.kind, exc_info=True)
