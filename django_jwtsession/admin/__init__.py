"""The session admin (see ``docs/admin.md``).

Registers :class:`SessionRecordAdmin` and :class:`UserBanAdmin` on ``admin.site`` (when
``django.contrib.admin`` is installed) and, when the user model is registered there already
(``django.contrib.auth`` listed before this app), re-registers its admin with
:class:`SessionsUserAdminMixin` applied.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from ..models import SessionRecord, UserBan
from .bans import UserBanAdmin
from .columns import EndReasonFilter, StatusFilter
from .impersonation import ImpersonationAdminMixin
from .sessions import SessionRecordAdmin
from .users import SessionsUserAdminMixin, install as install_user_admin

__all__ = [
    "EndReasonFilter",
    "ImpersonationAdminMixin",
    "SessionRecordAdmin",
    "SessionsUserAdminMixin",
    "StatusFilter",
    "UserBanAdmin",
    "install_user_admin",
]

if apps.is_installed("django.contrib.admin"):  # ``admin.site`` exists only then
    admin.site.register(SessionRecord, SessionRecordAdmin)
    admin.site.register(UserBan, UserBanAdmin)
    install_user_admin(admin.site)
