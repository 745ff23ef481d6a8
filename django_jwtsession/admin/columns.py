"""What the session admin shows of a record: its columns, its status and the status filter."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..end_reasons import EndReason, label
from ..models import SessionRecord, SessionRecordQuerySet
from ..timestamps import iso
from . import agents

ACTIVE, ENDED, EXPIRED, REVOKED = "active", "ended", "expired", "revoked"
STATUS_LABELS = {
    ACTIVE: _("Active"),
    ENDED: _("Ended"),
    EXPIRED: _("Expired"),
    REVOKED: _("Revoked"),
}
"""The status filter's choices: live, any end, ended by its expiry, ended by a revocation."""


def record_status(record: SessionRecord) -> str:
    """``revoked`` once ended, else ``expired`` past its expiry, else ``active``."""
    if record.revoked_at is not None:
        return REVOKED
    return EXPIRED if record.expires <= timezone.now() else ACTIVE


def status_text(record: SessionRecord) -> str:
    """``Active``, ``Expired``, or ``Ended: logged out`` (why it ended)."""
    status = record_status(record)
    if status != REVOKED:
        return str(STATUS_LABELS[status])
    return f"{STATUS_LABELS[ENDED]}: {label(record.end_reason or EndReason.REVOKED)}"


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(STATUS_LABELS.items())

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[SessionRecord]
    ) -> QuerySet[SessionRecord]:
        now = timezone.now()
        if self.value() == ACTIVE:  # the admin's queryset comes from SessionRecord.objects
            return cast(SessionRecordQuerySet, queryset).live()
        if self.value() == ENDED:
            return cast(SessionRecordQuerySet, queryset).ended()
        if self.value() == EXPIRED:
            return queryset.filter(revoked_at=None, expires__lte=now)
        if self.value() == REVOKED:
            return queryset.exclude(revoked_at=None)
        return queryset


class EndReasonFilter(admin.SimpleListFilter):
    """Why sessions ended: every ``EndReason`` (no query to list them); a reason of your own
    filters by URL too (``?reason=fraud_suspected``)."""

    title = _("end reason")
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(EndReason.choices)

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[SessionRecord]
    ) -> QuerySet[SessionRecord]:
        value = self.value()
        return queryset if value is None else queryset.filter(end_reason=value)


def moment(value: datetime) -> str:
    """A compact local time that never wraps (``Dec 6, 08:22``; with the year when it is not
    this one), the exact UTC time on hover."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    this_year = (timezone.localtime() if settings.USE_TZ else datetime.now()).year
    shown = dateformat.format(local, "M j, H:i" if local.year == this_year else "Y-m-d H:i")
    exact = iso(value)
    return format_html('<time datetime="{}" title="{}">{}</time>', exact, exact, shown)


class SessionColumns:
    """The session admin's columns (``list_display``) and read-only fields."""

    if TYPE_CHECKING:  # from the ModelAdmin it is mixed into
        admin_site: admin.AdminSite

        def get_empty_value_display(self) -> SafeString: ...

    @admin.display(description=_("user"), ordering="user")
    def user_link(self, record: SessionRecord) -> str:
        user = record.user  # fetched with the record (select_related: no query)
        if user is None:
            return self.get_empty_value_display()
        opts = user._meta
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[user.pk],
            )
        except NoReverseMatch:  # the user model is not in this admin site
            return user.get_username()
        return format_html('<a href="{}">{}</a>', url, user.get_username())

    def _username(self, record: SessionRecord, field: str) -> str:
        """The username of the user the record's ``field`` names (fetched with the record:
        no query); ``user <id>`` when that user is gone; else the empty value."""
        user_id = getattr(record, f"{field}_id")
        if user_id is None:
            return self.get_empty_value_display()
        try:
            user = getattr(record, field)
        except ObjectDoesNotExist:  # no database constraint: the user may be gone
            user = None
        return f"user {user_id}" if user is None else str(user.get_username())

    @admin.display(description=_("acted by"), ordering="actor")
    def acted_by(self, record: SessionRecord) -> str:
        """The impersonator when the session was an impersonation, else the empty value
        (fetched with the record: no query)."""
        return self._username(record, "actor")

    @admin.display(description=_("session id"))
    def public_id(self, record: SessionRecord) -> str:
        """The public id: ``revoke_session()`` takes it; nobody can act as the session with it."""
        return record.session_hash

    @admin.display(description=_("device, OS, browser"))
    def client(self, record: SessionRecord) -> str:
        """``iPhone · iOS 17.5 · Mobile Safari 17`` (what is known), the full agent on hover."""
        agent = agents.parse(record.user_agent)
        known = [part for part in agent if part != agents.UNKNOWN] or [agents.UNKNOWN]
        return format_html('<span title="{}">{}</span>', record.user_agent, " · ".join(known))

    @admin.display(description=_("created"), ordering="created")
    def created_at(self, record: SessionRecord) -> str:
        return moment(record.created)

    @admin.display(description=_("last seen"), ordering="last_seen")
    def last_seen_at(self, record: SessionRecord) -> str:
        return moment(record.last_seen)

    @admin.display(description=_("expires"), ordering="expires")
    def expires_at(self, record: SessionRecord) -> str:
        return moment(record.expires)

    @admin.display(description=_("device"))
    def device(self, record: SessionRecord) -> str:
        return agents.parse(record.user_agent).device

    @admin.display(description=_("OS"))
    def os(self, record: SessionRecord) -> str:
        return agents.parse(record.user_agent).os

    @admin.display(description=_("browser"))
    def browser(self, record: SessionRecord) -> str:
        return agents.parse(record.user_agent).browser

    @admin.display(description=_("status"))
    def status(self, record: SessionRecord) -> str:
        return status_text(record)

    @admin.display(description=_("end reason"))
    def why_ended(self, record: SessionRecord) -> str:
        return label(record.end_reason) if record.end_reason else self.get_empty_value_display()

    @admin.display(description=_("ended by"))
    def ended_by_name(self, record: SessionRecord) -> str:
        """Who ended the session (the user, an administrator), else the empty value."""
        return self._username(record, "ended_by")
