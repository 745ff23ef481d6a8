"""System checks of the session clocks (documented in ``docs/checks.md``).

``jwtsession.W020``: ``IDLE_TIMEOUT`` never ends a session, ``MAX_LIFETIME`` does first;
``W021``: sessions expire (``SESSION_COOKIE_AGE``) before they could idle out. (An
``IDLE_TIMEOUT`` that is not None or an integer of at least 60 is ``E002``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured

from . import conf


def check_clocks(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        jwt_settings = conf.get_settings()
    except ImproperlyConfigured:
        return []  # reported by check_settings
    idle = jwt_settings.idle_timeout
    if idle is None:
        return []
    if idle >= jwt_settings.max_lifetime:
        return [
            Warning(
                f"JWTSESSION['IDLE_TIMEOUT'] ({idle}) is not shorter than MAX_LIFETIME "
                f"({jwt_settings.max_lifetime}): every session reaches MAX_LIFETIME before it "
                "could idle out, so IDLE_TIMEOUT ends none.",
                hint="Set IDLE_TIMEOUT well below MAX_LIFETIME (e.g. 1800 for 30 minutes), or "
                "to None.",
                id="jwtsession.W020",
            )
        ]
    if idle >= settings.SESSION_COOKIE_AGE:
        return [
            Warning(
                f"JWTSESSION['IDLE_TIMEOUT'] ({idle}) is not shorter than SESSION_COOKIE_AGE "
                f"({settings.SESSION_COOKIE_AGE}): an unused session expires before it could "
                "idle out, so IDLE_TIMEOUT ends none.",
                hint="Set IDLE_TIMEOUT below SESSION_COOKIE_AGE, or to None.",
                id="jwtsession.W021",
            )
        ]
    return []
