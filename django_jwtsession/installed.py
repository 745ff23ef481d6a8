"""``jwtsession.E014``: the app is used (its middleware, engine or API imported) but is not
in ``INSTALLED_APPS``.

The checks of an app that is not installed never run, so this one is raised instead, when
the models are first imported after Django has set up (by Django's own middleware checks
during ``manage.py check``, or at server start): as a system check error, which
``manage.py`` prints as one, without a traceback.
"""

from __future__ import annotations

from django.apps import apps
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import SystemCheckError

APP = "django_jwtsession"


class NotInstalled(SystemCheckError, ImproperlyConfigured):
    """``django_jwtsession`` is used but not in ``INSTALLED_APPS`` (``jwtsession.E014``)."""


def not_installed_error() -> Error:
    return Error(
        f"'{APP}' is not in INSTALLED_APPS, but the project uses it (MIDDLEWARE, "
        "SESSION_ENGINE or an import): its models, checks and receivers are missing.",
        hint=f"Add '{APP}' to INSTALLED_APPS, then run manage.py migrate.",
        id="jwtsession.E014",
    )


def ensure_installed() -> None:
    """Raise :class:`NotInstalled` when Django has set up without this app."""
    if apps.apps_ready and not apps.is_installed(APP):
        raise NotInstalled(
            f"System check identified some issues:\n\nERRORS:\n{not_installed_error()}\n"
        )
