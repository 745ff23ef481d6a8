"""The ``auth_tests`` that exercise the session engine, once per store.

``AuthContextProcessorTests`` (``test_session_not_accessed``: the auth context processor
alone does not touch the session) and ``TestGetUser`` (``test_get_user_fallback_secret``:
a session hashed with a ``SECRET_KEY_FALLBACKS`` key is upgraded and its key cycled).
Imported only by the contract run with ``auth_tests`` installed.
"""

from __future__ import annotations

from auth_tests import (  # type: ignore[import-not-found]
    settings as auth_settings,
    test_basic,
    test_context_processors,
)
from django.test import override_settings

from . import ENGINES


def use_our_middleware() -> None:
    """The upstream auth tests override ``MIDDLEWARE`` with Django's session and auth
    middleware (``auth_tests.settings.AUTH_MIDDLEWARE``): put ours in their place."""
    auth_settings.AUTH_MIDDLEWARE[:] = [
        "django_jwtsession.middleware.SessionMiddleware",
        "django_jwtsession.middleware.AuthenticationMiddleware",
    ]


use_our_middleware()


@override_settings(SESSION_ENGINE=ENGINES["jwt"])
class JwtAuthContextProcessorTests(test_context_processors.AuthContextProcessorTests):  # type: ignore[misc]
    pass


@override_settings(SESSION_ENGINE=ENGINES["db"])
class DbAuthContextProcessorTests(test_context_processors.AuthContextProcessorTests):  # type: ignore[misc]
    pass


@override_settings(SESSION_ENGINE=ENGINES["jwt"])
class JwtGetUserTests(test_basic.TestGetUser):  # type: ignore[misc]
    pass


@override_settings(SESSION_ENGINE=ENGINES["db"])
class DbGetUserTests(test_basic.TestGetUser):  # type: ignore[misc]
    pass
