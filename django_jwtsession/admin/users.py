"""On the user admin: the user's live sessions, and a "Log out everywhere" action."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_permission_codename, get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _, ngettext

from .. import revocation
from ..models import SessionRecord, UserBan
from . import agents
from .actions import inherited, offer
from .bans import ban_selected_users
from .sessions import end_user_sessions

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object

SESSIONS_FIELD = "jwtsession_sessions"
LOGOUT_ACTION = "jwtsession_logout_everywhere"
BAN_ACTION = "jwtsession_ban_users"


def can_view_sessions(request: HttpRequest) -> bool:
    """The ``view`` or ``change`` permission on session records."""
    opts = SessionRecord._meta
    return any(
        request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
        for action in ("view", "change")
    )


class SessionsUserAdminMixin(_Base):
    """Mix into a user ``ModelAdmin`` (before it in the bases): a read-only "Sessions"
    section on the change page, and the "Log out everywhere" and "Ban selected users…"
    actions.

    ``admin.site``'s user admin gets it automatically; for another admin site::

        class UserAdmin(SessionsUserAdminMixin, django.contrib.auth.admin.UserAdmin): ...
    """

    jwtsession_sessions_shown = 20
    """How many live sessions the change page lists (most recently seen first)."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        if obj is None or not can_view_sessions(request) or SESSIONS_FIELD in fields:
            return fields
        return (*fields, SESSIONS_FIELD)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not can_view_sessions(request):
            return fieldsets
        if SESSIONS_FIELD in flatten_fieldsets(fieldsets):  # an admin without fieldsets
            return fieldsets
        return [*fieldsets, (_("Sessions"), {"fields": (SESSIONS_FIELD,)})]

    @admin.display(description=_("Live sessions"))
    def jwtsession_sessions(self, user: Model) -> SafeString:
        shown = self.jwtsession_sessions_shown
        records = list(
            SessionRecord.objects.filter(user_id=user.pk).live().order_by("-last_seen")[: shown + 1]
        )
        link = self._jwtsession_changelist_link(user)
        if not records:
            return format_html("<p>{}</p>{}", _("No live session."), link)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(_local(record.last_seen), "SHORT_DATETIME_FORMAT"),
                    record.ip or agents.UNKNOWN,
                    *agents.parse(record.user_agent),
                    record.strategy,
                )
                for record in records[:shown]
            ),
        )
        more = format_html("<p>{}</p>", _("… and more.")) if len(records) > shown else SafeString()
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("last seen"),
            _("IP address"),
            _("device"),
            _("OS"),
            _("browser"),
            _("strategy"),
        )
        return format_html(
            "<table><thead>{}</thead><tbody>{}</tbody></table>{}{}", head, rows, more, link
        )

    def _jwtsession_changelist_link(self, user: Model) -> SafeString:
        """A link to every session of the user, when session records are in this site."""
        opts = SessionRecord._meta
        try:
            url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:
            return SafeString()
        query = urlencode({"user__exact": user.pk})  # any primary key, auto field or not
        return format_html('<p><a href="{}?{}">{}</a></p>', url, query, _("All sessions"))

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        """Add "log out everywhere" to the changelist's actions (Django 5.2 to 6.1+: from
        6.1, Django passes ``action_location``; the action belongs to the changelist only)."""
        actions, on_changelist = inherited(super().get_actions, request, action_location)
        if not on_changelist or self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        if self.has_change_permission(request):
            offer(self, actions, LOGOUT_ACTION)
        if request.user.has_perm(f"{UserBan._meta.app_label}.add_userban"):
            offer(self, actions, BAN_ACTION)
        return actions

    @admin.action(description=_("Ban selected users…"))
    def jwtsession_ban_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        """Ask how long and why, then ban (``ban_user()``): their sessions end at once."""
        return ban_selected_users(self, request, queryset)

    @admin.action(description=_("Log out everywhere"))
    def jwtsession_logout_everywhere(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """End every session of the selected users (the signed-in admin keeps this one)."""
        ids = revocation.user_ids(queryset)
        end_user_sessions(request, ids)
        self.message_user(
            request,
            ngettext("Logged %d user out everywhere.", "Logged %d users out everywhere.", len(ids))
            % len(ids),
            messages.SUCCESS,
        )


def install(site: admin.AdminSite) -> bool:
    """Re-register the user model's admin on ``site`` with :class:`SessionsUserAdminMixin`
    applied. Returns False (and does nothing) when the user model is not registered."""
    user_model = get_user_model()
    if not site.is_registered(user_model):
        return False
    current = site.get_model_admin(user_model)
    if isinstance(current, SessionsUserAdminMixin):
        return True
    base = type(current)
    patched = type(
        base.__name__,
        (SessionsUserAdminMixin, base),
        {"__module__": base.__module__, "__qualname__": base.__qualname__, "__doc__": base.__doc__},
    )
    site.unregister(user_model)
    site.register(user_model, patched)
    return True


def _local(moment: datetime) -> datetime:
    """In the current time zone (with ``USE_TZ = False`` the database's naive value is that)."""
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment
