"""The sandbox's URLs (see docs/quickstart.md for the tour)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from demo import ban_views, guarded_views, login_views, session_views, views
from django_jwtsession.contrib.prometheus import MetricsView

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", login_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("whoami/", views.whoami, name="whoami"),
    path("session/refresh/", session_views.refresh_session, name="refresh_session"),
    path("sessions/", session_views.my_sessions, name="my_sessions"),
    path(
        "sessions/revoke-others/",
        session_views.revoke_other_sessions,
        name="revoke_other_sessions",
    ),
    path(
        "sessions/<str:session_id>/revoke/",
        session_views.revoke_my_session,
        name="revoke_my_session",
    ),
    path("staff/users/", views.staff_users, name="staff_users"),
    path("staff/users/<int:pk>/", views.staff_user, name="staff_user"),
    path("staff/users/<int:pk>/refresh/", views.staff_user_refresh, name="staff_user_refresh"),
    path("staff/users/<int:pk>/logout/", views.staff_user_logout, name="staff_user_logout"),
    path("staff/users/<int:pk>/ban/", ban_views.staff_user_ban, name="staff_user_ban"),
    path("staff/users/<int:pk>/unban/", ban_views.staff_user_unban, name="staff_user_unban"),
    path("guarded/admin/", guarded_views.admin_page, name="guarded_admin"),
    path("guarded/pro/", guarded_views.pro_page, name="guarded_pro"),
    path("guarded/beta/", guarded_views.beta_page, name="guarded_beta"),
    path("guarded/fresh/", guarded_views.fresh_page, name="guarded_fresh"),
    path("impersonation/", include("django_jwtsession.impersonation_urls")),
    path("api/", include("django_jwtsession.contrib.rest_framework.urls")),
    path("admin/", admin.site.urls),
    # A demo on 127.0.0.1, so the counters are public here. A real site passes a token
    # (MetricsView.as_view(token=...)), or lets staff only in (docs/deployment.md).
    path("metrics", MetricsView.as_view(public=True), name="metrics"),
]
