"""An exception-reporter filter that also hides the session cookie's chunks.

Django's ``SafeExceptionReporterFilter`` hides the ``SESSION_COOKIE_NAME`` cookie in
error reports; a long token continues in ``sessionid.1``, ``sessionid.2``, … which
it would show. Use this one instead::

    DEFAULT_EXCEPTION_REPORTER_FILTER = "django_jwtsession.debug.SafeExceptionReporterFilter"
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.views import debug


class SafeExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    """Django's filter, plus every chunk of the session cookie."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        name = re.escape(settings.SESSION_COOKIE_NAME)
        if isinstance(key, str) and re.fullmatch(rf"{name}\.\d+", key):
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)
