from django.contrib import admin
from django.contrib.auth import get_user_model

from django_jwtsession.admin import ImpersonationAdminMixin

from .models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "tier", "flags")
    list_filter = ("tier",)
    list_select_related = ("user",)


# The user admin (already given the sessions section by django_jwtsession) gets the
# "Impersonate the selected user" action: a project opts in to impersonation this way.
_user_model = get_user_model()
_user_admin = type(admin.site.get_model_admin(_user_model))
if not issubclass(_user_admin, ImpersonationAdminMixin):
    admin.site.unregister(_user_model)
    _impersonating = {"jwtsession_impersonation_redirect": "home"}  # the banner shows there
    _patched = type("UserAdmin", (ImpersonationAdminMixin, _user_admin), _impersonating)
    admin.site.register(_user_model, _patched)
