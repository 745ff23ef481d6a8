"""``manage.py jwtsession_revoke (USER ... | --all)``: end sessions now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...revocation import revoke_all, revoke_user
from ._users import find_users, require_mirrored


class Command(BaseCommand):
    help = "End every session of the given users, or of everybody with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("users", nargs="*", help="Usernames or primary keys.")
        parser.add_argument("--all", action="store_true", help="End every session of every user.")

    def handle(self, *args: Any, users: list[str], all: bool, **options: Any) -> None:
        if all == bool(users):
            raise CommandError("Give usernames, or --all (not both).")
        if all:
            revoke_all()
            require_mirrored()
            self.stdout.write("Revoked every session.")
            return
        found = find_users(users)
        revoke_user(found)
        require_mirrored()
        self.stdout.write(f"Revoked the sessions of {len(found)} user(s).")
