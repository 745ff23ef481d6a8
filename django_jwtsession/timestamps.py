"""One timestamp format in every JSON answer: ISO 8601, UTC, to the second, ``Z``-suffixed
(``"2025-05-01T09:12:03Z"``), whatever ``TIME_ZONE``, ``USE_TZ`` or REST framework's
``DATETIME_FORMAT`` say: a client parses one format and compares strings in time order."""

from __future__ import annotations

from datetime import datetime, timezone

from django.utils import timezone as django_timezone


def iso(value: datetime | int | None) -> str | None:
    """A moment (an aware or naive datetime, or Unix seconds) as ``YYYY-MM-DDTHH:MM:SSZ``.

    A naive datetime is in the default time zone (as Django stores them with ``USE_TZ =
    False``). None stays None.
    """
    if value is None:
        return None
    if isinstance(value, int):
        moment = datetime.fromtimestamp(value, tz=timezone.utc)
    elif django_timezone.is_naive(value):
        moment = django_timezone.make_aware(value, django_timezone.get_default_timezone())
    else:
        moment = value
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
