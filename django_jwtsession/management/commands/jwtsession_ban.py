"""``manage.py jwtsession_ban USER ... (--for DURATION | --until WHEN | --lift)``: timed bans.

A ban ends every session of the user at once (on its next request; end reason ``ban``) and
refuses their sign-in until it is over (``ban_user()``); ``--lift`` is ``unban_user()``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ...bans import REASON_MAX_LENGTH, ban_user, unban_user
from ._users import find_users, require_mirrored

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION = re.compile(r"([1-9][0-9]{0,8})([smhdw])")
WHEN = "Give how long (--for 2h), until when (--until 2030-01-31T18:00+00:00), or --lift."


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``7d``, ``2w``."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise CommandError(
            f"Not a duration: {text!r}. Use a whole number and a unit: 90s, 30m, 2h, 7d, 2w."
        )
    try:
        return timedelta(seconds=int(match[1]) * UNITS[match[2]])
    except OverflowError:
        raise CommandError(f"Too long: {text!r}. A ban must end before 9999-01-01.") from None


def moment(text: str) -> datetime:
    """An ISO 8601 date and time; without an offset, in the current time zone."""
    try:
        parsed = parse_datetime(text.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"Not a date and time: {text!r}. Use ISO 8601: 2030-01-31T18:00+00:00.")
    if settings.USE_TZ and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


class Command(BaseCommand):
    help = (
        "Ban users until a time: their sessions end on their next request and sign-in is "
        "refused until then (or lift their bans with --lift)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("users", nargs="+", help="Usernames or primary keys.")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--for", dest="length", metavar="DURATION", help="e.g. 30m, 2h, 7d.")
        when.add_argument("--until", metavar="WHEN", help="ISO 8601, e.g. 2030-01-31T18:00Z.")
        when.add_argument("--lift", action="store_true", help="Lift the users' bans.")
        parser.add_argument(
            "--reason",
            default="",
            help=f"A note for the staff (at most {REASON_MAX_LENGTH} characters; never shown "
            "to the user).",
        )

    def handle(
        self,
        *args: Any,
        users: list[str],
        length: str | None,
        until: str | None,
        lift: bool,
        reason: str,
        **options: Any,
    ) -> None:
        if not (length or until or lift):
            raise CommandError(WHEN)
        found = find_users(users)
        if lift:
            lifted = sum(unban_user(user) for user in found)
            self.stdout.write(f"Lifted {lifted} ban(s) of {len(found)} user(s).")
            return
        end: datetime | timedelta = duration(length) if length else moment(until or "")
        for user in found:
            try:
                ban = ban_user(user, end, reason=reason)
            except (TypeError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
        require_mirrored()
        self.stdout.write(
            f"Banned {len(found)} user(s) until {ban.until.isoformat(timespec='seconds')}: "
            "their sessions end on their next request."
        )
