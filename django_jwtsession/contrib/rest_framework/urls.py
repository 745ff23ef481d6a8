"""The session endpoints, to include under a prefix of your choice::

    path("api/", include("django_jwtsession.contrib.rest_framework.urls")),

Route names are in the ``jwtsession`` namespace: ``jwtsession:session``,
``jwtsession:session-refresh``, ``jwtsession:sessions``, ``jwtsession:session-detail``,
``jwtsession:sessions-revoke-others`` and ``jwtsession:jwks``.
"""

from __future__ import annotations

from django.urls import path

from . import views
from .checks import CheckedURLPattern

app_name = "jwtsession"

urlpatterns = [
    # Checked with Django's URL checks: the browsable API needs "rest_framework" installed.
    CheckedURLPattern.wrap(path("session/", views.SessionView.as_view(), name="session")),
    path("session/refresh/", views.RefreshView.as_view(), name="session-refresh"),
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    path(
        "sessions/revoke-others/",
        views.RevokeOthersView.as_view(),
        name="sessions-revoke-others",
    ),
    path("sessions/<str:session_id>/", views.SessionDetailView.as_view(), name="session-detail"),
    path(".well-known/jwks.json", views.JWKSView.as_view(), name="jwks"),
]
