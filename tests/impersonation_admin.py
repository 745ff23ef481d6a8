"""An admin site whose user admin has the "Impersonate" action (``tests/test_impersonation.py``)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model

from django_jwtsession.admin import ImpersonationAdminMixin

site = admin.AdminSite(name="impersonation_admin")
_user_model = get_user_model()
_base = type(admin.site.get_model_admin(_user_model))
# (the sandbox's admin, imported by its tests, may have the mixin already)
_bases = (
    (_base,) if issubclass(_base, ImpersonationAdminMixin) else (ImpersonationAdminMixin, _base)
)
site.register(_user_model, type("UserAdmin", _bases, {"jwtsession_impersonation_redirect": None}))
