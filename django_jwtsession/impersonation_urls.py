"""The impersonation URLs (see :mod:`~django_jwtsession.impersonation_views`)::

    path("impersonation/", include("django_jwtsession.impersonation_urls")),

``jwtsession_impersonation:start`` (``<user id>/start/``) and ``jwtsession_impersonation:stop``
(``stop/``), both POST.
"""

from django.urls import path

from . import impersonation_views as views

app_name = "jwtsession_impersonation"
urlpatterns = [
    path("<str:user_id>/start/", views.start, name="start"),
    path("stop/", views.stop, name="stop"),
]
