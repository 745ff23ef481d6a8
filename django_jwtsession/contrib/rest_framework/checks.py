"""``jwtsession.E018``: the session endpoints answer browsers with DRF's browsable API, whose
templates come with the ``rest_framework`` app: without it in ``INSTALLED_APPS``, every page
of the API is a 500 (``TemplateDoesNotExist``).

Run by Django's URL checks, for the projects that include these endpoints (``urls.py``).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error
from django.urls import URLPattern


def check_browsable_api() -> list[CheckMessage]:
    from rest_framework.renderers import BrowsableAPIRenderer
    from rest_framework.settings import api_settings

    renderers = api_settings.DEFAULT_RENDERER_CLASSES
    browsable = any(
        isinstance(renderer, type) and issubclass(renderer, BrowsableAPIRenderer)
        for renderer in renderers
    )
    if not browsable or apps.is_installed("rest_framework"):
        return []
    return [
        Error(
            "The django_jwtsession API endpoints use REST framework's browsable API "
            "(DEFAULT_RENDERER_CLASSES), but 'rest_framework' is not in INSTALLED_APPS: "
            "every page of it fails with TemplateDoesNotExist.",
            hint="Add 'rest_framework' to INSTALLED_APPS (or leave BrowsableAPIRenderer out "
            "of REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']).",
            id="jwtsession.E018",
        )
    ]


class CheckedURLPattern(URLPattern):
    """A URL pattern that also runs :func:`check_browsable_api` with Django's URL checks."""

    @classmethod
    def wrap(cls, pattern: URLPattern) -> CheckedURLPattern:
        return cls(pattern.pattern, pattern.callback, pattern.default_args, pattern.name)

    def check(self) -> list[Any]:
        return [*super().check(), *check_browsable_api()]
