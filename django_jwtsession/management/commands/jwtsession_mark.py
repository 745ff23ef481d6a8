"""``manage.py jwtsession_mark USER [USER ...]``: mark users' claims stale."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...revocation import mark_for_refresh
from ._users import find_users, require_mirrored


class Command(BaseCommand):
    help = "Mark users' claims stale: their next request, on any device, rebuilds them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("users", nargs="+", help="Usernames or primary keys.")

    def handle(self, *args: Any, users: list[str], **options: Any) -> None:
        found = find_users(users)
        if not found:
            raise CommandError("No such user.")
        mark_for_refresh(found)
        require_mirrored()
        self.stdout.write(f"Marked {len(found)} user(s).")
