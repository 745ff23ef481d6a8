"""``{% load sandbox %}``: the strategy badge every page shows, and readable durations."""

from __future__ import annotations

from django import template

from django_jwtsession.conf import get_settings

register = template.Library()


@register.simple_tag
def strategy_name() -> str:
    """The session strategy in use (``JWTSESSION["STRATEGY"]``: ``jwt`` or ``db``)."""
    return get_settings().strategy


@register.filter
def duration(seconds: int | None) -> str:
    """``75`` as ``1 min 15 s``; ``3700`` as ``1 h 1 min``; empty for None."""
    if seconds is None:
        return ""
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
