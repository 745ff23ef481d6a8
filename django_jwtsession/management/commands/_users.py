"""Resolve command-line user arguments (username or primary key)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def find_users(names: list[str]) -> list[Any]:
    """Users by ``USERNAME_FIELD`` or primary key; an unknown name is an error."""
    model = get_user_model()
    manager = model._default_manager
    users = []
    for name in names:
        user = manager.filter(**{model.USERNAME_FIELD: name}).first()
        if user is None:
            try:
                user = manager.filter(pk=name).first()
            except (ValueError, TypeError, ValidationError):
                user = None
        if user is None:
            raise CommandError(f"No user {name!r} (by {model.USERNAME_FIELD} or primary key).")
        users.append(user)
    return users


def require_mirrored() -> None:
    """After a write: the cache must have it, else readers may not see it yet. Say so."""
    from ...revocation import retry_unmirrored

    if not retry_unmirrored():
        raise CommandError(
            "Written to the database, but the cache could not be updated: processes that "
            "read the cache may not see it until its entries expire (STATE_CACHE_TIMEOUT). "
            "Check the cache, then run the command again."
        )
