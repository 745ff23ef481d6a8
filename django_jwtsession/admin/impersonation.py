"""On the user admin: an "Impersonate" action, for users holding the permission.

Opt in by mixing it into your user admin (it is never added for you)::

    from django.contrib.auth.admin import UserAdmin
    from django_jwtsession.admin import ImpersonationAdminMixin, SessionsUserAdminMixin

    admin.site.unregister(User)

    @admin.register(User)
    class MyUserAdmin(ImpersonationAdminMixin, SessionsUserAdminMixin, UserAdmin): ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.translation import gettext_lazy as _

from ..impersonation import start_impersonation
from ..impersonation_rules import PERMISSION, ImpersonationRefused
from .actions import inherited, offer

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object

IMPERSONATE_ACTION = "jwtsession_impersonate"


class ImpersonationAdminMixin(_Base):
    """Mix into a user ``ModelAdmin`` (before it in the bases): the "Impersonate" action on
    the changelist, for users holding ``django_jwtsession.impersonate``. Stopping (the
    banner's Stop button) comes back to the changelist."""

    jwtsession_impersonation_redirect: str | None = None
    """Where an impersonation starts (default: ``LOGIN_REDIRECT_URL``)."""

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        """Add "Impersonate" to the changelist's actions (Django 5.2 to 6.1+, as
        ``SessionsUserAdminMixin`` does)."""
        actions, on_changelist = inherited(super().get_actions, request, action_location)
        if not on_changelist or self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        if request.user.has_perm(PERMISSION):
            offer(self, actions, IMPERSONATE_ACTION)
        return actions

    @admin.action(description=_("Impersonate the selected user"))
    def jwtsession_impersonate(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        """Act as the one selected user (the rules in ``impersonation_rules`` apply)."""
        users = list(queryset[:2])
        if len(users) != 1:
            self.message_user(request, _("Select exactly one user to impersonate."), messages.ERROR)
            return None
        try:
            start_impersonation(request, users[0], return_to=request.get_full_path())
        except ImpersonationRefused as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return None
        target = self.jwtsession_impersonation_redirect or settings.LOGIN_REDIRECT_URL
        return HttpResponseRedirect(resolve_url(target))
