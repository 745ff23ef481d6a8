"""The session admin: who is signed in, where from, on what; revoke, log out, refresh.

Read-only. Shows a session's public id (what the REST API, "my sessions" and the signals
give, and ``revoke_session()`` takes; searchable in full), never what lets anyone act as
the session (the token, the ``db`` strategy's key or data). Every action and both delete
paths go through :mod:`~django_jwtsession.revocation`, so the cache is updated and the
signals fire.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename, get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _, ngettext

from .. import revocation
from ..models import SessionRecord
from . import agents, stats
from .actions import inherited
from .columns import EndReasonFilter, SessionColumns, StatusFilter

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[SessionRecord]
else:
    _ModelAdmin = admin.ModelAdmin  # not subscriptable at run time

HIDDEN_FIELDS = frozenset({"session_hash", "data", "meta", "key_hash"})
"""Fields the URL may not filter on (a session's id is found by searching for all of it)."""
_PUBLIC_ID = re.compile(r"[0-9a-f]{64}")


def _user_ids(records: QuerySet[SessionRecord]) -> list[str]:
    return sorted({str(pk) for pk in records.values_list("user_id", flat=True)})


def end_user_sessions(request: HttpRequest, ids: list[str]) -> None:
    """``revoke_user`` for these users; the acting admin's own current session survives."""
    own = str(request.user.pk) in ids
    revocation.revoke_user(
        ids, keep=request.session if own else None, reason="revoked_by_admin", by=request.user
    )


class SessionRecordAdmin(SessionColumns, _ModelAdmin):
    """Signed-in sessions, newest activity first. See ``docs/admin.md``."""

    list_display = (
        "user_link",
        "acted_by",
        "ip",
        "client",
        "created_at",
        "last_seen_at",
        "expires_at",
        "status",
    )
    list_display_links = ("created_at",)
    list_filter = (StatusFilter, EndReasonFilter, "strategy")
    list_select_related = ("user", "actor")
    empty_value_display = agents.UNKNOWN
    search_help_text = _("A username (or part of one), an exact IP address or a session id.")
    fields = (
        "user_link",
        "acted_by",
        "public_id",
        "status",
        "strategy",
        "ip",
        "device",
        "os",
        "browser",
        "user_agent",
        "created",
        "last_seen",
        "expires",
        "revoked_at",
        "why_ended",
        "ended_by_name",
    )
    readonly_fields = fields
    actions = ("revoke_sessions", "revoke_users", "refresh_users")
    change_list_template = "admin/django_jwtsession/sessionrecord/change_list.html"

    # -- what is listed ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[SessionRecord]:
        """Signed-in sessions of existing users: the ``db`` strategy also keeps anonymous
        ones, and a record may outlive its user (it has no database constraint)."""
        return super().get_queryset(request).exclude(user=None).select_related("user", "actor")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (f"user__{get_user_model().USERNAME_FIELD}",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SessionRecord], search_term: str
    ) -> tuple[QuerySet[SessionRecord], bool]:
        """Usernames by ``icontains``; a term that is an IP address also matches that IP, and
        a session's public id (all 64 digits) that session."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if _PUBLIC_ID.fullmatch(search_term.strip()):
            return found | queryset.filter(session_hash=search_term.strip()), duplicates
        try:
            address = ipaddress.ip_address(search_term.strip())
        except ValueError:
            return found, duplicates
        return found | queryset.filter(ip=str(address)), duplicates

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        """No filtering on hidden fields from the URL (it would reveal them, bit by bit)."""
        if lookup.split("__", 1)[0] in HIDDEN_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    # -- columns ----------------------------------------------------------------------------------

    # -- read-only --------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: records are written by the session engine only (the change view is read-only)."""
        return False

    def has_refresh_permission(self, request: HttpRequest) -> bool:
        """The model's ``change`` permission, which otherwise changes nothing here."""
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    # -- actions ----------------------------------------------------------------------------------

    @admin.action(description=_("Revoke selected sessions"), permissions=["delete"])
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[SessionRecord]) -> None:
        count = self._revoke(request, queryset)
        self.message_user(
            request,
            ngettext("Revoked %d session.", "Revoked %d sessions.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(description=_("Revoke all sessions of these users"), permissions=["delete"])
    def revoke_users(self, request: HttpRequest, queryset: QuerySet[SessionRecord]) -> None:
        ids = _user_ids(queryset)
        end_user_sessions(request, ids)
        self.message_user(
            request,
            ngettext(
                "Ended every session of %d user.", "Ended every session of %d users.", len(ids)
            )
            % len(ids),
            messages.SUCCESS,
        )

    @admin.action(description=_("Force claims refresh for these users"), permissions=["refresh"])
    def refresh_users(self, request: HttpRequest, queryset: QuerySet[SessionRecord]) -> None:
        ids = _user_ids(queryset)
        revocation.mark_for_refresh(ids)
        self.message_user(
            request,
            ngettext(
                "The claims of %d user are rebuilt on their next request.",
                "The claims of %d users are rebuilt on their next request.",
                len(ids),
            )
            % len(ids),
            messages.SUCCESS,
        )

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        """Ours first: "Revoke selected sessions" above Django's "Delete selected" (which
        revokes too, then drops the records)."""
        actions = inherited(super().get_actions, request, action_location)[0]
        deleting = actions.pop("delete_selected", None)
        if deleting is not None:
            actions["delete_selected"] = deleting
        return actions

    # -- deleting is revoking ---------------------------------------------------------------------

    def _revoke(self, request: HttpRequest, queryset: QuerySet[SessionRecord]) -> int:
        """Revoke the sessions not revoked yet (expired ones too: revoking is harmless)."""
        ids = list(queryset.filter(revoked_at=None).values_list("session_hash", flat=True))
        return revocation.revoke_sessions(ids, reason="revoked_by_admin", by=request.user)

    def delete_model(self, request: HttpRequest, obj: SessionRecord) -> None:
        """Revoke the session, then delete its record (the revocation outlives the row)."""
        self._revoke(request, SessionRecord.objects.filter(pk=obj.pk))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SessionRecord]) -> None:
        """The bulk delete action: revoke the sessions, then delete their records."""
        self._revoke(request, queryset)
        super().delete_queryset(request, queryset)

    # -- the statistics page ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        stats_url = path(
            "stats/",
            self.admin_site.admin_view(self.stats_view),
            name="{}_{}_stats".format(*info),
        )
        return [stats_url, *super().get_urls()]  # before "<path:object_id>/"

    def stats_view(self, request: HttpRequest) -> HttpResponse:
        return stats.render_stats(self, request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        info = self.opts.app_label, self.opts.model_name
        context = {
            "jwtsession_stats_url": reverse(
                "{}:{}_{}_stats".format(self.admin_site.name, *info),
                current_app=self.admin_site.name,
            ),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)
