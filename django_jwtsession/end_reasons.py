"""Why a session ended: the reasons stored in its record and sent with ``session_ended``.

Pass one to the revocation functions (``revoke_session(id, reason=EndReason.REVOKED_BY_USER)``,
or the plain string); your own short reasons are stored as given (``[a-z0-9_]``, at most 32
characters). ``by`` names who ended a session: a user, a user's primary key, or None.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 32
_REASON = re.compile(rf"[a-z0-9_]{{1,{MAX_LENGTH}}}")


class EndReason(models.TextChoices):
    """Why a session ended (``SessionRecord.end_reason``)."""

    LOGOUT = "logout", _("logged out")
    REVOKED_BY_USER = "revoked_by_user", _("revoked by the user")
    REVOKED_BY_ADMIN = "revoked_by_admin", _("revoked by an administrator")
    PASSWORD_CHANGE = "password_change", _("password changed")
    LIMIT = "limit", _("session limit: a newer sign-in")
    IDLE = "idle", _("idle too long")
    LIFETIME = "lifetime", _("expired")
    BAN = "ban", _("user banned")
    KEY_ROTATION = "key_rotation", _("secret key rotated")
    IMPERSONATION_START = "impersonation_start", _("gave way to an impersonation")
    IMPERSONATION_END = "impersonation_end", _("impersonation ended")
    DEACTIVATED = "deactivated", _("user deactivated")
    REVOKED = "revoked", _("revoked")
    CYCLED = "cycled", _("moved to a new id")


NOT_AN_END = frozenset({EndReason.CYCLED.value})
"""Reasons whose record ended while the session itself goes on (under a new id): no
``session_ended`` signal, and not in a user's list of ended sessions."""


def end_reason(value: Any) -> str:
    """The reason to store: ``None`` is ``"revoked"`` (ended by code that gave none)."""
    if value is None:
        return EndReason.REVOKED.value
    if isinstance(value, str) and _REASON.fullmatch(value):
        return str(value)  # an EndReason member is stored as its plain value
    raise ValueError(
        f"Not an end reason: {value!r}. Use an EndReason ({', '.join(EndReason.values)}) "
        f"or your own: lowercase letters, digits and _, at most {MAX_LENGTH} characters."
    )


def label(reason: str) -> str:
    """What people read for a stored reason (your own reasons as they are)."""
    try:
        return str(EndReason(reason).label)
    except ValueError:
        return reason.replace("_", " ")
