"""Admin actions across Django versions: from 6.1, ``ModelAdmin.get_actions()`` takes an
``action_location`` (and deprecates overrides whose signature lacks it); 5.2 and 6.0 do not
know it. Each of our ``get_actions()`` overrides asks its parent through :func:`inherited`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin


def inherited(
    get_actions: Callable[..., dict[str, Any]], request: Any, action_location: Any
) -> tuple[dict[str, Any], bool]:
    """The actions of ``get_actions`` (the parent's), given ``action_location`` only when
    Django passed one; and whether they are the changelist's (where our actions go)."""
    if action_location is None:
        return get_actions(request), True
    actions = get_actions(request, action_location=action_location)
    return actions, getattr(action_location, "name", "CHANGE_LIST") == "CHANGE_LIST"


def offer(model_admin: admin.ModelAdmin[Any], actions: dict[str, Any], name: str) -> None:
    """Add the action ``name`` of ``model_admin`` to ``actions`` (unless there already)."""
    action = model_admin.get_action(name)
    if action is not None:
        actions.setdefault(name, action)
