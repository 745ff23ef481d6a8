"""``{% load sandbox %}``: the strategy badge every page shows, readable durations, and
whether the session signed in recently enough for a fresh-login guard."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from django_jwtsession.conf import get_settings
from django_jwtsession.fresh_login import is_fresh
from django_jwtsession.timestamps import iso

from ..guarded_views import FRESH_LOGIN_MAX_AGE

register = template.Library()


@register.simple_tag
def strategy_name() -> str:
    """The session strategy in use (``JWTSESSION["STRATEGY"]``: ``jwt`` or ``db``)."""
    return get_settings().strategy


@register.simple_tag(takes_context=True)
def fresh_page_allows(context: template.Context) -> bool:
    """Whether ``/guarded/fresh/`` lets the page's session in: a sign-in within its
    ``FRESH_LOGIN_MAX_AGE`` (what ``fresh_login_required`` checks; no query)."""
    request = context.get("request")
    return request is not None and is_fresh(request, FRESH_LOGIN_MAX_AGE)


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


@register.simple_tag
def moment(value: datetime | None) -> SafeString | str:
    """A time that fits on one line (``Dec 6, 08:22``, in the current time zone; with the
    year when not this one), in a ``<time>`` whose ``datetime`` and tooltip are the exact
    ISO 8601 UTC time."""
    if value is None:
        return "—"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    this_year = timezone.localtime().year if timezone.is_aware(value) else datetime.now().year
    shown = dateformat.format(local, "M j, H:i" if local.year == this_year else "Y-m-d H:i")
    exact = iso(value)
    return format_html('<time datetime="{}" title="{}">{}</time>', exact, exact, shown)
