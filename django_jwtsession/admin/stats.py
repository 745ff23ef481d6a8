"""The admin's statistics page: the counters of ``metrics.py``, grouped, and charts over time.

The charts are inline SVG computed here (no JavaScript, no external asset, no inline
style: a strict Content-Security-Policy is fine). One cache round trip per page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import metrics
from ..conf import get_settings

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

logger = logging.getLogger("django_jwtsession")
TEMPLATE = "admin/django_jwtsession/sessionrecord/stats.html"
DEFAULT_MINUTES = 60
MAX_MINUTES = 24 * 60
WINDOWS = (15, 60, 6 * 60, 24 * 60)
"""The windows offered as links; ``?minutes=`` accepts any whole number up to ``MAX_MINUTES``."""
CHART_WIDTH, CHART_HEIGHT, CHART_BARS = 600, 80, 60

DECODE_FAILURES = metrics.DECODE_NAMES[1:]
STATE_CHECKS = ("state.hit", "state.miss", "state.fallback", "state.memo", "state.refused")


def window(raw: str | None) -> int:
    """``?minutes=``: a whole number from 1 to ``MAX_MINUTES``, else ``DEFAULT_MINUTES``."""
    try:
        minutes = int(raw or "")
    except ValueError:
        return DEFAULT_MINUTES
    return minutes if 1 <= minutes <= MAX_MINUTES else DEFAULT_MINUTES


@dataclass(frozen=True)
class Row:
    label: str
    value: int | str


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row]
    summary: Row


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    start: datetime
    value: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    total: int
    peak: int
    step: int
    """Minutes per bar."""
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


def _rows(totals: dict[str, int], names: Sequence[str]) -> list[Row]:
    return [Row(name.split(".", 1)[1].replace("_", " "), totals[name]) for name in names]


def sections(totals: dict[str, int]) -> list[Section]:
    """The counters in five groups, each with a one-line summary."""
    rate = metrics.hit_rate(totals)
    failures = sum(totals[name] for name in DECODE_FAILURES)
    return [
        Section(
            _("Claims refreshes"),
            _rows(totals, metrics.REFRESH_NAMES),
            Row(_("in all"), sum(totals[name] for name in metrics.REFRESH_NAMES)),
        ),
        Section(
            _("State checks"),
            _rows(totals, metrics.STATE_NAMES),
            Row(_("cache hit rate"), f"{rate:.1%}" if rate is not None else _("no checks")),
        ),
        Section(
            _("Revocations"),
            _rows(totals, metrics.REVOKE_NAMES),
            Row(_("in all"), sum(totals[name] for name in metrics.REVOKE_NAMES)),
        ),
        Section(
            _("Pushed mirror"),
            _rows(totals, metrics.MIRROR_NAMES),
            Row(_("mirror hit rate"), _mirror_rate(totals)),
        ),
        Section(
            _("Token decodes"),
            _rows(totals, metrics.DECODE_NAMES),
            Row(_("failed"), failures),
        ),
    ]


def _mirror_rate(totals: dict[str, int]) -> str:
    """The state checks the mirror answered without a round trip."""
    hits, misses = totals["mirror.hits"], totals["mirror.misses"]
    return f"{hits / (hits + misses):.1%}" if hits + misses else _("no checks")


def chart(title: str, points: list[tuple[datetime, int]]) -> Chart:
    """A bar chart of ``points`` (oldest first), at most ``CHART_BARS`` bars: minutes
    are summed into buckets when the window is longer."""
    step = max(1, math.ceil(len(points) / CHART_BARS))
    buckets = [
        (points[i][0], sum(value for _start, value in points[i : i + step]))
        for i in range(0, len(points), step)
    ]
    peak = max((value for _start, value in buckets), default=0)
    slot = CHART_WIDTH / max(1, len(buckets))
    gap = 1.0 if slot > 3 else 0.0
    bars = [
        Bar(
            x=round(index * slot, 2),
            y=round(CHART_HEIGHT - CHART_HEIGHT * value / peak, 2),
            width=round(slot - gap, 2),
            height=round(CHART_HEIGHT * value / peak, 2),
            start=start,
            value=value,
        )
        for index, (start, value) in enumerate(buckets)
        if value
    ]
    total = sum(value for _start, value in buckets)
    return Chart(title, bars, total=total, peak=peak, step=step)


def charts(series: list[tuple[datetime, dict[str, int]]]) -> list[Chart]:
    def summed(names: Sequence[str]) -> list[tuple[datetime, int]]:
        return [(minute, sum(counts[name] for name in names)) for minute, counts in series]

    return [
        chart(_("State checks"), summed(STATE_CHECKS)),
        chart(_("Claims refreshes"), summed(metrics.REFRESH_NAMES)),
        chart(_("Revocations"), summed(metrics.REVOKE_NAMES)),
        chart(_("Decode failures"), summed(DECODE_FAILURES)),
    ]


def render_stats(model_admin: ModelAdmin[Any], request: HttpRequest) -> HttpResponse:
    """The page: counters of the last ``?minutes=`` (default 60) and their charts."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    request.current_app = model_admin.admin_site.name  # for {% url 'admin:…' %}
    minutes = window(request.GET.get("minutes"))
    error = ""
    series: list[tuple[datetime, dict[str, int]]] = []
    try:
        series = metrics.series(minutes)
    except Exception as exc:  # an unreachable cache must not take the admin page down
        logger.warning("jwtsession: the admin could not read the counters (%s)", exc)
        error = _(
            "The counters could not be read from the cache %(alias)r (%(error)s): is it reachable?"
        ) % {"alias": get_settings().cache_alias, "error": type(exc).__name__}
    totals = dict.fromkeys(metrics.NAMES, 0)
    for _minute, counts in series:
        for name, value in counts.items():
            totals[name] += value
    opts = model_admin.opts
    site = model_admin.admin_site
    drawn = [] if error else charts(series)
    context = {
        **site.each_context(request),
        "title": _("Session statistics"),
        "opts": opts,
        "minutes": minutes,
        "flush_seconds": get_settings().metrics_flush_seconds,
        "windows": WINDOWS,
        "error": error,
        "sections": [] if error else sections(totals),
        "charts": drawn,
        "counted": any(chart.total for chart in drawn),
        "first_minute": series[0][0] if series else None,
        "last_minute": series[-1][0] if series else None,
        "changelist_url": reverse(
            f"{site.name}:{opts.app_label}_{opts.model_name}_changelist", current_app=site.name
        ),
    }
    return TemplateResponse(request, TEMPLATE, context)
