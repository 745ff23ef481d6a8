"""Public signals.

``claims_refreshed(sender, user, reason)``
    Claims were (re)built. ``sender`` is the session store class; ``reason`` is
    ``"login"``, ``"ttl"`` (older than ``CLAIMS_TTL``) or ``"mark"`` (the user was marked).
``user_marked(sender, user_ids)``
    Users' claims were marked stale (sent once the marking transaction commits;
    ``sender`` is the ``StateEntry`` model, as for ``session_revoked``).
``session_revoked(sender, scope, user_ids, session_ids)``
    Sessions were revoked (sent on commit). ``scope`` is ``"session"``, ``"user"`` or
    ``"all"``; ``session_ids`` holds the opaque ids for ``"session"``, else is empty.
``session_ended(sender, session_id, user_id, reason, by)``
    A signed-in session ended (sent on commit, once per session whose record was live):
    ``sender`` is the ``SessionRecord`` model, ``session_id`` its public id, ``user_id``
    and ``by`` (who ended it, or None) user ids as strings, ``reason`` an ``EndReason`` value.
``impersonation_started(sender, request, impersonator, user)``
    An impersonation started: ``impersonator`` acts as ``user`` from this response on.
    ``sender`` is the session store class.
``impersonation_ended(sender, request, impersonator_id, user_id, returned)``
    An impersonation ended (``stop_impersonation()``): ``returned`` is False when the
    impersonator could not be signed back in (ids are strings).
"""

from __future__ import annotations

from django.dispatch import Signal

claims_refreshed = Signal()
user_marked = Signal()
session_revoked = Signal()
session_ended = Signal()
impersonation_started = Signal()
impersonation_ended = Signal()
