from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from django_jwtsession import GatedAuthenticationForm
from tests import impersonation_admin
from tests.testapp import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="admin/login.html")),
    path(
        "accounts/gated-login/",
        auth_views.LoginView.as_view(
            template_name="admin/login.html", authentication_form=GatedAuthenticationForm
        ),
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view()),
    path("custom-login/", views.custom_login),
    path("login-then-fail/", views.login_then_fail),
    path("async-login/", views.async_login),
    path("whoami/", views.whoami),
    path("plain/", views.plain),
    path("template-without-user/", views.template_without_user),
    path("async-whoami/", views.async_whoami),
    path("set/", views.set_value),
    path("set-big/", views.set_big),
    path("get/", views.get_value),
    path("message/add/", views.add_message),
    path("message/read/", views.read_messages),
    path("password/", views.change_password),
    path("note/", views.create_note),
    path("email/", views.email),
    path("cycle/", views.cycle),
    path("flush/", views.flush),
    path("delete-me/", views.delete_me),
    path("expiry/", views.expiry),
    path("expiry/past/", views.expire_in_past),
    path("user/", views.user_summary),
    path("permissions/", views.permissions),
    path("impersonation/banner/", views.impersonation_banner),
    path("impersonation/", include("django_jwtsession.impersonation_urls")),
    path("admin/", admin.site.urls),
    path("impersonation-admin/", impersonation_admin.site.urls),
    path("guarded/", include("tests.guard_urls")),
    path("mirror/", include("tests.mirror_urls")),
    path("fresh/", include("tests.fresh_urls")),
    path("", include("tests.drf_urls")),
]
