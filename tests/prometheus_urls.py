"""``MetricsView`` three ways (``tests/test_prometheus.py``)."""

from django.urls import path

from django_jwtsession.contrib.prometheus import MetricsView

TOKEN = "scraper-token-4f1d2c"

urlpatterns = [
    path("metrics/staff/", MetricsView.as_view()),
    path("metrics/token/", MetricsView.as_view(token=TOKEN)),
    path("metrics/public/", MetricsView.as_view(public=True)),
]
