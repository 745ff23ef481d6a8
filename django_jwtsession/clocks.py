"""The session's clocks beside its expiry: how long it may idle, and how old its sign-in is.

Django's expiry (``SESSION_COOKIE_AGE``, ``set_expiry()``) and the absolute
``MAX_LIFETIME`` are :mod:`~django_jwtsession.backends.expiry`'s. Here, from what the
session carries (no I/O):

- **Idle** (``IDLE_TIMEOUT``): a session is stamped whenever it is written — its ``iat``,
  in the token (jwt) or the stored session (db). A session whose stamp is ``IDLE_TIMEOUT``
  old ends on its next request (reason :data:`IDLE`). Activity re-stamps it without a write
  per request: a request re-issues the session once its stamp is half its idle window old
  (:func:`reissue_age`), so a session used at least every half window never idles out, and
  one left alone for a whole window always ends.
- **The idle window**: ``IDLE_TIMEOUT``, or the session's own ``set_expiry(seconds)``
  (Django's "seconds of inactivity") when that is shorter; the latter ends through the
  session's expiry, as Django's engines do.
- **The sign-in's age** (the fresh-login guards): :func:`login_is_fresh` is the one
  predicate that decides whether a session signed in recently enough (an impersonated
  session never did).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .conf import get_settings
from .end_reasons import EndReason

if TYPE_CHECKING:
    from .identity import SessionIdentity

IDLE: str = EndReason.IDLE.value
"""Why a session that idled out ended (``SessionEnded.reason``, and its end reason)."""


def idle_window(expiry: Any = None) -> int | None:
    """Seconds without a request that end a session, or None when nothing does.

    ``expiry`` is the session's ``set_expiry()`` value (``_session_expiry``): a number of
    seconds is Django's per-session inactivity window.
    """
    timeout = get_settings().idle_timeout
    if type(expiry) is int and expiry > 0:
        return expiry if timeout is None else min(expiry, timeout)
    return timeout


def reissue_age(expiry: Any = None) -> int:
    """How old a session's stamp may get before a request re-issues it anyway:
    ``UPDATE_AGE``, or half the idle window when that is sooner."""
    age = get_settings().update_age
    window = idle_window(expiry)
    return age if window is None else min(age, window // 2)


def idled_out(stamped: int, now: int) -> bool:
    """True when ``IDLE_TIMEOUT`` has passed since the session was last written."""
    timeout = get_settings().idle_timeout
    return timeout is not None and now - stamped >= timeout


def login_is_fresh(identity: SessionIdentity | None, max_age: int, now: int | None = None) -> bool:
    """Whether this session's user signed in (or re-authenticated) at most ``max_age``
    seconds ago: the one predicate behind every fresh-login guard.

    False for an anonymous session, for a session of another engine (no identity), and
    for an impersonated session: its user never signed in to it (nor can the impersonator
    sign in as them), so nothing that asks for a fresh sign-in is done in their name.
    """
    if identity is None or identity.claims is None or identity.actor is not None:
        return False
    now = int(time.time()) if now is None else now
    return now - identity.signed_in_at <= max_age
