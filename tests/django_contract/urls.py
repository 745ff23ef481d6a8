"""No views: the upstream tests that need some set their own ``ROOT_URLCONF``."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
