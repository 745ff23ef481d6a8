"""Attribute paths on models (``"subscription.tier"``), checked against the models' fields.

What the claim sources (``TIER_SOURCE``, ``FLAGS_SOURCE``, ``ROLES_SOURCE``) and
``MARK_MODELS`` name is read with ``getattr`` one name at a time; this finds, at check
time, the first name that the model at that point does not have.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.db.models import Model


def _accessors(model: type[Model]) -> dict[str, Any]:
    """Every field and relation of ``model`` by the name ``getattr`` reads it with."""
    found: dict[str, Any] = {}
    for field in model._meta.get_fields(include_hidden=False):
        if field.auto_created and not field.concrete:  # a reverse relation: its accessor
            name = field.get_accessor_name()  # type: ignore[union-attr]
            if name:
                found[name] = field
        else:
            found[field.name] = field
    return found


def missing_name(model: type[Model], path: str) -> tuple[str, type[Model], list[str]] | None:
    """The first name of ``path`` that cannot be read, the model it is missing from, and
    close names that can; None when every name is found (or cannot be checked further:
    a property, a method, a JSON field's content)."""
    current: type[Model] = model
    for name in path.split("."):
        accessors = _accessors(current)
        field = accessors.get(name)
        if field is None:
            if hasattr(current, name):  # a property, a method, a manager: checked at run time
                return None
            candidates = [*accessors, *(n for n in dir(current) if not n.startswith("_"))]
            close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
            return name, current, list(dict.fromkeys(close))
        if not field.is_relation or field.related_model is None:
            return None  # a plain field (JSON content included): nothing further to check
        if field.many_to_many or field.one_to_many:
            return None  # many rows: a provider iterates them, not a path
        current = field.related_model
    return None
