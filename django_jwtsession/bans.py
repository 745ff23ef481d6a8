"""Timed bans: a banned user's sessions end on their next request, and signing in is refused
until the ban is over (the sign-in gate: :mod:`~django_jwtsession.signin`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .end_reasons import EndReason
from .revocation import actor, revoke_user

if TYPE_CHECKING:
    from .models import UserBan

REASON_MAX_LENGTH = 200
LATEST_END = datetime(9999, 1, 1, tzinfo=dt_timezone.utc)
"""A ban ends before this (any later would not survive conversion to a local time)."""
_TOO_LATE = "A ban must end before 9999-01-01."


def _bans() -> type[UserBan]:
    from .models import UserBan

    return UserBan


def _pk(user_id: str | None) -> Any:
    """A user id string as the user model's primary key value (None stays None)."""
    field = get_user_model()._meta.pk
    assert field is not None  # noqa: S101  (every concrete model has a primary key)
    return None if user_id is None else field.to_python(user_id)


def _one_user_id(user: Any) -> Any:
    """The primary key of one user, given as a user or a primary key."""
    if isinstance(user, (QuerySet, list, tuple, set, frozenset)):
        raise TypeError(f"Ban one user at a time (a user or a primary key), not {user!r}.")
    user_id = actor(user)
    if user_id is None:
        raise ValueError(f"Not a user, nor a user's primary key: {user!r}.")
    return _pk(user_id)


def _until(until: datetime | timedelta) -> datetime:
    now = timezone.now()
    if isinstance(until, timedelta):
        try:
            moment = now + until
        except OverflowError:  # past datetime.max
            raise ValueError(_TOO_LATE) from None
    elif isinstance(until, datetime):
        moment = until
        if settings.USE_TZ and timezone.is_naive(moment):
            raise ValueError("A ban's end must be an aware datetime (USE_TZ is on).")
        if not settings.USE_TZ and timezone.is_aware(moment):
            check_end(moment)  # first: a local time past 9999 does not exist
            moment = timezone.make_naive(moment)
    else:
        raise TypeError(f"A ban ends at a datetime or after a timedelta, not {until!r}.")
    if moment <= now:
        raise ValueError(f"A ban must end in the future, not at {moment.isoformat()}.")
    check_end(moment)
    return moment


def check_end(moment: datetime) -> None:
    """Raise ``ValueError`` when ``moment`` is too far ahead to end a ban (9999-01-01 on)."""
    latest = LATEST_END if timezone.is_aware(moment) else LATEST_END.replace(tzinfo=None)
    if moment >= latest:
        raise ValueError(_TOO_LATE)


def ban_user(
    user: Any, until: datetime | timedelta, *, reason: str = "", by: Any = None
) -> UserBan:
    """Ban ``user`` (a user or a primary key) until ``until`` (a datetime, or a timedelta
    from now): every session of theirs ends on its next request (end reason ``"ban"``), and
    signing in is refused until then. Banning a banned user again replaces the ban.

    ``reason`` is a note for the staff (at most 200 characters; never shown to the user);
    ``by`` who banned (a user or a primary key).
    """
    user_id, moment, banned_by = _one_user_id(user), _until(until), _pk(actor(by))
    if not isinstance(reason, str) or len(reason) > REASON_MAX_LENGTH:
        raise ValueError(f"A ban's reason is a string of at most {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        ban, _ = _bans().objects.update_or_create(
            user_id=user_id,
            defaults={
                "until": moment,
                "reason": reason,
                "banned_by_id": banned_by,
                "created": timezone.now(),
            },
        )
        revoke_user(user_id, reason=EndReason.BAN, by=banned_by)
    return ban


def unban_user(user: Any) -> bool:
    """Lift ``user``'s ban: they may sign in again (the sessions it ended stay ended). True
    when they had one."""
    return bool(_bans().objects.filter(user_id=_one_user_id(user)).delete()[0])


def active_ban(user: Any) -> UserBan | None:
    """``user``'s ban while it is in force, else None (one query)."""
    return _bans().objects.filter(user_id=_one_user_id(user), until__gt=timezone.now()).first()


def banned_until(user: Any) -> datetime | None:
    """When ``user``'s ban ends, while one is in force; else None (one query)."""
    ban = active_ban(user)
    return None if ban is None else ban.until


def prune_bans() -> int:
    """Delete bans that are over (``clearsessions``); return how many."""
    return _bans().objects.filter(until__lte=timezone.now()).delete()[0]
