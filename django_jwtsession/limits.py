"""Session limits: at most ``SESSION_LIMIT`` live sessions per user, enforced at sign-in.

Counted from the session records (both strategies write one), under a lock on the user's
row, with the new session's record written first (provisionally, for
``PROVISIONAL_SECONDS``, until the response saves it for real): two sign-ins at once each
count the other. Over the limit, ``"evict_oldest"`` revokes the oldest sessions (end reason
``"limit"``: each is signed out on its next request) and ``"deny"`` refuses the new one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from .claims import Claims, build_claims, user_id_string
from .conf import get_settings
from .end_reasons import EndReason
from .records import save_record
from .revocation import revoke_sessions

if TYPE_CHECKING:
    from .models import SessionRecord

PROVISIONAL_SECONDS = 300
"""How long a new session's record counts before its response has saved it: a sign-in whose
response never saves its session (an error) stops counting after this."""


class OverLimit(Exception):
    """The sign-in would exceed the user's limit under ``"deny"``."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def limit_for(user: Any, claims: Claims | None = None) -> int | None:
    """How many live sessions ``user`` may have (None: no limit). A per-role or per-tier
    ``SESSION_LIMIT`` reads the claims (built from ``user`` when not given for them)."""
    rule = get_settings().session_limit
    if rule is None:
        return None
    if not rule.roles and not rule.tiers:
        return rule.default
    if claims is None or claims.user_id != user_id_string(user):
        claims = build_claims(user)
    return rule.for_user(claims.roles, claims.tier)


def counted(user_id: Any) -> QuerySet[SessionRecord]:
    """The user's live sessions, as "my sessions" lists them: not ended, not expired; an
    impersonation of the user is not theirs (neither counted nor evicted)."""
    from .models import SessionRecord

    return SessionRecord.objects.filter(user_id=user_id, actor=None).live()


def would_deny(user: Any, claims: Claims | None, current: str | None) -> int | None:
    """The limit a new sign-in of ``user`` would exceed under ``"deny"`` (an advisory count,
    for a form's error: :func:`enforce` decides), else None. ``current``: the public id of a
    session of this user the sign-in replaces (not counted)."""
    if get_settings().session_limit_policy != "deny":
        return None
    limit = limit_for(user, claims)
    if limit is None:
        return None
    live = counted(user.pk)
    if current is not None:
        live = live.exclude(session_hash=current)
    return limit if live.count() >= limit else None


def enforce(session: Any, user: Any, meta: Any) -> None:
    """In ``login()``: count ``user``'s sessions with the new ``session`` (a store of ours),
    and evict the oldest ones over the limit or raise :class:`OverLimit`."""
    limit = limit_for(user, session.claims)
    if limit is None:
        return
    if session.session_id is None:  # flush()ed by login(): the id comes with the save
        session.create()
    new = session.public_id
    with transaction.atomic():
        users = get_user_model()._default_manager.select_for_update()
        list(users.filter(pk=user.pk).values_list("pk", flat=True))  # one sign-in at a time
        save_record(
            session_hash=new,
            user_id=user_id_string(user),
            strategy=session.strategy,
            meta=meta,
            expires=int(time.time()) + PROVISIONAL_SECONDS,
        )
        live = list(
            counted(user.pk).order_by("created", "pk").values_list("session_hash", flat=True)
        )
        excess = len(live) - limit
        if excess <= 0:
            return
        if get_settings().session_limit_policy == "deny":
            raise OverLimit(limit)
        revoke_sessions([found for found in live if found != new][:excess], reason=EndReason.LIMIT)
