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
        for username, spec in DEMO_USERS.items():
            created, changed = seed_user(username, spec, password)
            if options.get("verbosity", 1) >= 1:
                state = "created" if created else "updated" if changed else "unchanged"
                self.stdout.write(
                    f"{state} {username}"
                    + (f" ({', '.join(changed)})" if changed and not created else "")
                )


def seed_user(username: str, spec: dict[str, Any], password: str) -> tuple[bool, list[str]]:
    """Create the demo user, or bring it back to ``spec``, writing only what differs.

    Seeding again (every ``run_sandbox``) must keep its sessions: ``set_password`` would
    end them all (a new password hash), and saving unchanged rows would mark the users for
    nothing. So the password is set only when it does not already match, and each row is
    saved only when it changed. Returns (created, what changed).
    """
    user_model = get_user_model()
    wanted = {
        "is_staff": spec["staff"],
        "is_superuser": spec["superuser"],
        "is_active": True,
        "email": f"{username}@example.com",
    }
    user = user_model._default_manager.filter(username=username).first()
    created = user is None
    if user is None:  # created with its password: no password change, nothing revoked
        user = user_model._default_manager.create_user(username, password=password, **wanted)
        changed: list[str] = []
    else:
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        if not user.check_password(password):
            user.set_password(password)  # a new password ends the user's sessions: if needed
            changed.append("password")
        if changed:
            user.save()
    groups = {Group.objects.get_or_create(name=role)[0] for role in spec["roles"]}
    if set(user.groups.all()) != groups:
        user.groups.set(groups)
        changed.append("roles")
    subscription = Subscription.objects.filter(user=user).first()
    if subscription is None:
        Subscription.objects.create(user=user, tier=spec["tier"], flags=spec["flags"])
    elif (subscription.tier, subscription.flags) != (spec["tier"], spec["flags"]):
        subscription.tier, subscription.flags = spec["tier"], spec["flags"]
        subscription.save()
        changed.append("subscription")
    return created, changed
