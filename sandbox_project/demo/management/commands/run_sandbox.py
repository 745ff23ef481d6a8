"""``manage.py run_sandbox``: migrate, seed, then serve on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Set up the sandbox database and serve it (runserver) on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="Set up only; do not serve.")

    def handle(self, *args: Any, addrport: str, no_serve: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", verbosity=0)
        self.stdout.write(
            f"Sandbox ready: log in at http://{addrport}/accounts/login/ as alice, bob or carol "
            "(password: sandbox-password)."
        )
        if not no_serve:
            call_command("runserver", addrport, use_reloader=False)
