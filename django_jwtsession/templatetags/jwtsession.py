"""``{% load jwtsession %}``: role, tier and flag filters for templates (no query).

::

    {% if request.user|has_role:"editor" %}…{% endif %}
    {% if user|has_role:"admin,editor" %}both roles{% endif %}
    {% if user|has_role:"any_of:admin,editor" %}one of them{% endif %}
    {% if user|has_tier:"pro" %}pro or higher{% endif %}
    {% if user|has_flag:"beta" %}…{% endif %}

A comma-separated argument names several roles or flags: every one is needed, or one of
them after ``any_of:`` (the spelling of ``any_of()`` in Python). An empty argument, an
anonymous user or a missing variable gives False. ``has_any_role`` and ``has_any_flag``
are deprecated spellings of ``any_of:``.

``{% impersonation_banner %}`` shows who is acting in an impersonated session, with a
Stop button (see ``docs/impersonation.md``).
"""

from __future__ import annotations

import warnings
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from .. import access

register = template.Library()

ANY_OF = "any_of:"


def _names(argument: Any) -> frozenset[str]:
    text = str(argument)
    one_of = text.startswith(ANY_OF)
    names = [name.strip() for name in text.removeprefix(ANY_OF).split(",") if name.strip()]
    if not names:
        return frozenset()
    return access.any_of(names) if one_of else frozenset(names)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f'The {old} filter is deprecated: use {new}:"any_of:…" instead.',
        DeprecationWarning,
        stacklevel=3,
    )


@register.filter
def has_role(user: Any, roles: Any) -> bool:
    """Every one of the comma-separated ``roles``, or one after ``any_of:`` (with
    ``ROLE_HIERARCHY``; superusers pass)."""
    names = _names(roles)
    return bool(names) and access.has_role(user, names)


@register.filter
def has_any_role(user: Any, roles: Any) -> bool:
    """Deprecated: ``has_role:"any_of:…"``."""
    _deprecated("has_any_role", "has_role")
    names = _names(roles)
    return bool(names) and access.has_role(user, access.any_of(names))


@register.filter
def has_tier(user: Any, tier: Any) -> bool:
    """The tier ``tier`` or a higher one in ``TIER_ORDER``."""
    name = str(tier).strip()
    return bool(name) and access.has_tier(user, name)


@register.filter
def has_flag(user: Any, flags: Any) -> bool:
    """Every one of the comma-separated feature ``flags``, or one after ``any_of:``."""
    names = _names(flags)
    return bool(names) and access.has_flag(user, names)


@register.filter
def has_any_flag(user: Any, flags: Any) -> bool:
    """Deprecated: ``has_flag:"any_of:…"``."""
    _deprecated("has_any_flag", "has_flag")
    names = _names(flags)
    return bool(names) and access.has_flag(user, access.any_of(names))


@register.inclusion_tag("django_jwtsession/impersonation_banner.html", takes_context=True)
def impersonation_banner(context: template.Context) -> dict[str, Any]:
    """``{% impersonation_banner %}``: "Signed in as bob, impersonated by alice — Stop" on an
    impersonated session, nothing otherwise (read from the session: no query). The Stop
    button posts to ``jwtsession_impersonation:stop`` when those URLs are included."""
    request = context.get("request")
    session = getattr(request, "session", None)
    actor = getattr(session, "actor", None)
    if actor is None:
        return {"impersonation": None}
    claims = getattr(session, "claims", None)
    try:
        stop_url = reverse("jwtsession_impersonation:stop")
    except NoReverseMatch:
        stop_url = None
    return {
        "impersonation": {
            "username": getattr(claims, "username", ""),
            "impersonator": actor.username or actor.user_id,
            "impersonator_id": actor.user_id,
            "stop_url": stop_url,
        },
        "csrf_token": context.get("csrf_token"),
    }
