"""``manage.py jwtsession_stats [--minutes N] [--json]``: the counters, summed."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import metrics
from ...conf import get_settings

SECTIONS = (
    ("Decodes", metrics.DECODE_NAMES),
    ("State checks", metrics.STATE_NAMES),
    ("Refreshes", metrics.REFRESH_NAMES),
    ("Revocations", metrics.REVOKE_NAMES),
    ("Storage", metrics.STORE_NAMES),
    ("Pushed mirror", metrics.MIRROR_NAMES),
)


class Command(BaseCommand):
    help = (
        "Show the django-jwtsession counters (decodes, state checks, refreshes, revocations, "
        "the pushed mirror)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--minutes",
            type=int,
            default=60,
            help=f"Sum the last N minutes (1 to {metrics.RETENTION_MINUTES}; default 60).",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print JSON instead of text."
        )

    def handle(self, *args: Any, minutes: int, as_json: bool, **options: Any) -> None:
        if not 1 <= minutes <= metrics.RETENTION_MINUTES:
            raise CommandError(
                f"--minutes must be between 1 and {metrics.RETENTION_MINUTES} "
                f"(the minutes kept), got {minutes}."
            )
        metrics.flush()
        try:
            totals = metrics.totals(minutes)
        except Exception as exc:
            alias = get_settings().cache_alias
            raise CommandError(f"Cannot read the counters from cache {alias!r}: {exc}") from exc
        rate = metrics.hit_rate(totals)
        if as_json:
            report = {"minutes": minutes, "totals": totals, "state_hit_rate": rate}
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(f"django-jwtsession counters, last {minutes} minute(s)")
        self.stdout.write(
            f"(each process adds its counts every {get_settings().metrics_flush_seconds} s, "
            "METRICS_FLUSH_SECONDS, at its next request: the latest may not show yet)"
        )
        width = max(len(name.partition(".")[2]) for name in metrics.NAMES)
        for title, names in SECTIONS:
            if names is metrics.STATE_NAMES:
                shown = "n/a" if rate is None else f"{rate:.1%}"
                title = f"{title} (cache hit rate: {shown})"
            self.stdout.write(f"\n{title}")
            for name in names:
                self.stdout.write(f"  {name.partition('.')[2]:<{width}}  {totals[name]:>10}")
