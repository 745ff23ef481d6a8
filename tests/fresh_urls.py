"""URLs of the fresh-login test views, under ``/fresh/`` (``tests/test_fresh_login.py``)."""

from django.urls import path

from django_jwtsession.contrib.rest_framework.permissions import HasFreshLogin, HasRole
from tests.testapp import fresh_views as views

urlpatterns = [
    path("view/", views.fresh),
    path("async/", views.async_fresh),
    path("raise/", views.fresh_raise),
    path("login-url/", views.fresh_login_url),
    path("cbv/", views.FreshView.as_view()),
    path("async/cbv/", views.AsyncFreshView.as_view()),
    path("cbv/raise/", views.FreshRaiseView.as_view()),
    path("cbv/admin/", views.FreshAdminView.as_view()),
    path("async/cbv/admin/", views.AsyncFreshAdminView.as_view()),
    path("cbv/no-max-age/", views.NoMaxAgeView.as_view()),
    path("api/", views.FreshAPIView.as_view()),
    path(
        "api/admin/",
        views.FreshAPIView.as_view(permission_classes=[HasFreshLogin & HasRole]),
    ),
    path("api/no-max-age/", views.FreshAPIView.as_view(fresh_login_max_age=None)),
]
