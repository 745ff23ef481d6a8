"""An admin site whose user admin has the "Impersonate" action (``tests/test_impersonation.py``)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model

from django_jwtsession.admin import ImpersonationAdminMixin

site = admin.AdminSite(name="impersonation_admin")
_user_model = get_user_model()
_base = type(admin.site.get_model_admin(_user_model))
if not issubclass(_base, ImpersonationAdminMixin):  # (the sandbox's admin may have it already)
    _base = type("UserAdmin", (ImpersonationAdminMixin, _base), {})
site.register(_user_model, _base)
