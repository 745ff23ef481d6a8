"""Bans in the admin: the ban list (add, change, lift) and the user admin's "Ban selected
users…" action (see ``docs/bans.md``). Every ban goes through ``ban_user()``, so the banned
user's sessions end at once; deleting a ban is ``unban_user()``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, ngettext

from ..bans import ban_user, check_end, unban_user
from ..models import UserBan

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[UserBan]
    _ModelForm = forms.ModelForm[UserBan]
else:
    _ModelAdmin = admin.ModelAdmin  # not subscriptable at run time
    _ModelForm = forms.ModelForm

DURATIONS = {
    "1h": (_("1 hour"), timedelta(hours=1)),
    "1d": (_("1 day"), timedelta(days=1)),
    "7d": (_("7 days"), timedelta(days=7)),
    "30d": (_("30 days"), timedelta(days=30)),
}


class BanForm(forms.Form):
    duration = forms.ChoiceField(
        label=_("Ban for"), choices=[(key, label) for key, (label, _) in DURATIONS.items()]
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        required=False,
        help_text=_("A note for the staff; the user is never shown it."),
    )


def ban_selected_users(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> TemplateResponse | None:
    """The user admin's action: a form (how long, why), then ``ban_user()`` for each user.
    Banning yourself is refused."""
    form = BanForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        users = [user for user in queryset if user.pk != request.user.pk]
        if len(users) < len(queryset):
            model_admin.message_user(request, _("You cannot ban yourself."), messages.WARNING)
        for user in users:
            ban_user(
                user,
                DURATIONS[form.cleaned_data["duration"]][1],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        if users:
            model_admin.message_user(
                request,
                ngettext("Banned %d user.", "Banned %d users.", len(users)) % len(users),
                messages.SUCCESS,
            )
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "queryset": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "title": _("Ban users"),
    }
    return TemplateResponse(request, "admin/django_jwtsession/ban_users.html", context)


class UserBanForm(_ModelForm):
    class Meta:
        model = UserBan
        fields = ("user", "until", "reason")

    def validate_unique(self) -> None:
        """Nothing to check: the user is a ban's one unique field, and a user banned already
        is banned again (``save_model()`` calls ``ban_user()``, whose new ban replaces the
        old one), not refused with "ban with this user already exists"."""

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        if until is not None and until <= timezone.now():
            raise forms.ValidationError(_("A ban must end in the future."))
        if until is not None:
            try:
                check_end(until)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return until


class UserBanAdmin(_ModelAdmin):
    """Bans: who, until when, why, by whom. Saving one bans (the user's sessions end);
    deleting one lifts it."""

    form = UserBanForm
    list_display = ("user", "until", "in_force", "reason", "banned_by", "created")
    list_select_related = ("user", "banned_by")
    raw_id_fields = ("user",)
    fields = ("user", "until", "reason")
    search_fields = ("reason",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("user",) if obj is not None else ()

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, ban: UserBan) -> bool:
        return ban.active

    def save_model(self, request: HttpRequest, obj: UserBan, form: Any, change: bool) -> None:
        """Through ``ban_user()``: the user's sessions end now."""
        saved = ban_user(obj.user_id, obj.until, reason=obj.reason, by=request.user)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: UserBan) -> None:
        unban_user(obj.user_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UserBan]) -> None:
        for user_id in list(queryset.values_list("user_id", flat=True)):
            unban_user(user_id)
