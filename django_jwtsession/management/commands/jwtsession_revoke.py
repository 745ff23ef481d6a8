"""``manage.py jwtsession_revoke (USER ... | --session ID ... | --all)``: end sessions now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...end_reasons import end_reason
from ...revocation import revoke_all, revoke_sessions, revoke_user
from ._users import find_users, require_mirrored

WHAT = (
    "Name the sessions to end: usernames (or user primary keys) for every session of those "
    "users, --session ID for one session (its public id, as the admin and the API show it), "
    "or --all for every session of every user."
)


class Command(BaseCommand):
    help = "End every session of the given users, given sessions, or everybody's (--all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("users", nargs="*", help="Usernames or primary keys.")
        parser.add_argument(
            "--session",
            action="append",
            default=[],
            metavar="ID",
            dest="sessions",
            help="A session's public id (repeatable).",
        )
        parser.add_argument("--all", action="store_true", help="End every session of every user.")
        parser.add_argument(
            "--reason",
            default="revoked",
            help="Why, for the session history: an end reason such as revoked_by_admin or "
            "key_rotation, or your own (lowercase letters, digits, _). Default: revoked.",
        )

    def handle(
        self,
        *args: Any,
        users: list[str],
        sessions: list[str],
        all: bool,
        reason: str,
        **options: Any,
    ) -> None:
        given = [
            kind
            for kind, value in (("users", users), ("--session", sessions), ("--all", all))
            if value
        ]
        if not given:
            raise CommandError(WHAT)
        if len(given) > 1:
            raise CommandError(f"Give one of users, --session or --all, not {' and '.join(given)}.")
        try:
            reason = end_reason(reason)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if all:
            revoke_all(reason=reason)
            require_mirrored()
            self.stdout.write("Revoked every session.")
        elif sessions:
            self._revoke_sessions(sessions, reason)
        else:
            found = find_users(users)
            revoke_user(found, reason=reason)
            require_mirrored()
            self.stdout.write(f"Revoked the sessions of {len(found)} user(s).")

    def _revoke_sessions(self, sessions: list[str], reason: str) -> None:
        try:
            live = revoke_sessions(sessions, reason=reason)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        require_mirrored()
        wanted = len(set(sessions))
        if live < wanted:
            raise CommandError(
                f"Revoked {live} of {wanted} session(s): the others were not live sessions "
                "(unknown ids, or revoked already). Copy the public id from the admin or from "
                "GET /api/session/ (session.id)."
            )
        self.stdout.write(f"Revoked {live} session(s).")
