"""The staff page's form: a user's roles (groups), tier, flags and active status."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import Group
from django.db import transaction

from .models import Subscription

if TYPE_CHECKING:
    from django.contrib.auth.models import User

FLAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}")
MAX_FLAGS = 20


class UserAccessForm(forms.Form):
    """Edit what the claims carry; saving goes through the model signals that mark the user."""

    roles = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Groups: their names are the user's roles.",
    )
    tier = forms.ChoiceField(choices=Subscription.Tier.choices)
    flags = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Comma-separated, e.g. <code>beta, early-access</code>.",
    )
    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="An inactive user's sessions end at their next request.",
    )

    def __init__(self, *args: Any, user: User, editor: Any, **kwargs: Any) -> None:
        self.user, self.editor = user, editor
        subscription = Subscription.objects.filter(user=user).first()
        kwargs.setdefault(
            "initial",
            {
                "roles": list(user.groups.all()),
                "tier": subscription.tier if subscription else Subscription.Tier.FREE,
                "flags": ", ".join(subscription.flags) if subscription else "",
                "is_active": user.is_active,
            },
        )
        super().__init__(*args, **kwargs)

    def clean_flags(self) -> list[str]:
        flags = sorted({part.strip() for part in self.cleaned_data["flags"].split(",")} - {""})
        bad = [flag for flag in flags if not FLAG.fullmatch(flag)]
        if bad:
            raise forms.ValidationError(
                "Not a valid flag: %(flags)s. Use letters, digits and _ . : - (at most 40).",
                params={"flags": ", ".join(bad)},
            )
        if len(flags) > MAX_FLAGS:
            raise forms.ValidationError(f"At most {MAX_FLAGS} flags.")
        return flags

    def clean_is_active(self) -> bool:
        active: bool = self.cleaned_data["is_active"]
        if not active and self.user.pk == self.editor.pk:
            raise forms.ValidationError("You cannot deactivate yourself here.")
        return active

    @transaction.atomic
    def save(self) -> list[str]:
        """Write what changed and return its names; the model signals mark the user."""
        user, data, changed = self.user, self.cleaned_data, []
        roles = {group.pk for group in data["roles"]}
        if roles != set(user.groups.values_list("pk", flat=True)):
            user.groups.set(data["roles"])  # m2m_changed marks
            changed.append("roles")
        subscription, _ = Subscription.objects.get_or_create(user=user)
        for name in ("tier", "flags"):
            if getattr(subscription, name) != data[name]:
                setattr(subscription, name, data[name])
                changed.append(name)
        if {"tier", "flags"} & set(changed):
            subscription.save()  # MARK_MODELS names demo.Subscription: post_save marks
        if user.is_active != data["is_active"]:
            user.is_active = data["is_active"]
            user.save(update_fields=["is_active"])  # post_save marks
            changed.append("active")
        return changed
