"""``manage.py seed_demo [--password P]``: create the demo users (idempotent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from demo.models import Subscription

DEMO_USERS: dict[str, dict[str, Any]] = {
    "alice": {"roles": ["admin"], "staff": True, "superuser": True, "tier": "free", "flags": []},
    "bob": {
        "roles": ["editor"],
        "staff": False,
        "superuser": False,
        "tier": "pro",
        "flags": ["beta"],
    },
    "carol": {"roles": [], "staff": False, "superuser": False, "tier": "free", "flags": []},
}
DEFAULT_PASSWORD = "sandbox-password"


class Command(BaseCommand):
    help = "Create (or reset) the sandbox demo users alice, bob and carol."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help="Password for every demo user."
        )

    @transaction.atomic
    def handle(self, *args: Any, password: str, **options: Any) -> None:
        if not password:
            self.stderr.write("--password must not be empty.")
            raise SystemExit(2)
        user_model = get_user_model()
        for username, spec in DEMO_USERS.items():
            user, created = user_model._default_manager.get_or_create(username=username)
            user.is_staff, user.is_superuser, user.is_active = (
                spec["staff"],
                spec["superuser"],
                True,
            )
            user.email = f"{username}@example.com"
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get_or_create(name=role)[0] for role in spec["roles"]])
            Subscription.objects.update_or_create(
                user=user, defaults={"tier": spec["tier"], "flags": spec["flags"]}
            )
            if options.get("verbosity", 1) >= 1:
                self.stdout.write(f"{'created' if created else 'updated'} {username}")
