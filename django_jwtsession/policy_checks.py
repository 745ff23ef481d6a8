"""System checks of the session policies (documented in ``docs/checks.md``).

``jwtsession.W030``: ``SESSION_LIMIT`` names a tier that ``TIER_ORDER`` does not list (a
typo: that limit never applies); ``W031``: ``SESSION_LIMIT_POLICY`` is set while
``SESSION_LIMIT`` is None (it does nothing). An invalid ``SESSION_LIMIT``,
``SESSION_LIMIT_POLICY`` or ``HISTORY_RETENTION`` is ``E002``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured

from . import conf


def check_policies(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        jwt_settings = conf.get_settings()
    except ImproperlyConfigured:
        return []  # reported by check_settings
    messages: list[CheckMessage] = []
    limit = jwt_settings.session_limit
    order = jwt_settings.tier_order
    unknown = sorted(set(limit.tiers) - set(order)) if limit is not None and order else []
    if unknown:
        messages.append(
            Warning(
                f"JWTSESSION['SESSION_LIMIT'] has limits for tiers {unknown} that "
                f"TIER_ORDER {list(order)} does not list: no user has them, so those limits "
                "never apply.",
                hint="Spell the tiers as TIER_ORDER does (and as your TIER_SOURCE gives them).",
                id="jwtsession.W030",
            )
        )
    given = getattr(settings, conf.SETTING_NAME, None) or {}
    if limit is None and isinstance(given, dict) and "SESSION_LIMIT_POLICY" in given:
        messages.append(
            Warning(
                "JWTSESSION['SESSION_LIMIT_POLICY'] is set but SESSION_LIMIT is None (no "
                "limit): the policy never acts.",
                hint="Set SESSION_LIMIT (e.g. 3), or remove SESSION_LIMIT_POLICY.",
                id="jwtsession.W031",
            )
        )
    return messages
