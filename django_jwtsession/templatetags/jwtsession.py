"""``{% load jwtsession %}``: role, tier and flag filters for templates (no query).

::

    {% if request.user|has_role:"editor" %}…{% endif %}
    {% if user|has_role:"admin,editor" %}both roles{% endif %}
    {% if user|has_any_role:"admin,editor" %}one of them{% endif %}
    {% if user|has_tier:"pro" %}pro or higher{% endif %}
    {% if user|has_flag:"beta" %}…{% endif %}

A comma-separated argument names several roles or flags: ``has_role`` and
``has_flag`` need every one, ``has_any_role`` and ``has_any_flag`` one of them. An
empty argument, an anonymous user or a missing variable gives False.
"""

from __future__ import annotations

from typing import Any

from django import template

from .. import access

register = template.Library()


def _names(argument: Any) -> list[str]:
    return [name.strip() for name in str(argument).split(",") if name.strip()]


@register.filter
def has_role(user: Any, roles: Any) -> bool:
    """Every one of the comma-separated ``roles`` (with ``ROLE_HIERARCHY``, superusers pass)."""
    names = _names(roles)
    return bool(names) and access.has_role(user, names)


@register.filter
def has_any_role(user: Any, roles: Any) -> bool:
    """One of the comma-separated ``roles``."""
    names = _names(roles)
    return bool(names) and access.has_role(user, names, any=True)


@register.filter
def has_tier(user: Any, tier: Any) -> bool:
    """The tier ``tier`` or a higher one in ``TIER_ORDER``."""
    name = str(tier).strip()
    return bool(name) and access.has_tier(user, name)


@register.filter
def has_flag(user: Any, flags: Any) -> bool:
    """Every one of the comma-separated feature ``flags``."""
    names = _names(flags)
    return bool(names) and access.has_flag(user, names)


@register.filter
def has_any_flag(user: Any, flags: Any) -> bool:
    """One of the comma-separated feature ``flags``."""
    names = _names(flags)
    return bool(names) and access.has_flag(user, names, any=True)
