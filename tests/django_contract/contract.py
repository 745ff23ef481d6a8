"""Django's ``SessionTestsMixin`` and ``SessionMiddlewareTests``, once per store.

Imported only by the contract run (``runner.py``), where the upstream ``sessions_tests``
package is on ``sys.path``. Upstream classes are reached through their module, never
imported by name, so the test loader finds only the subclasses below.
"""

from __future__ import annotations

import unittest
from typing import Any
from unittest import mock

from django.test import TestCase, override_settings
from sessions_tests import tests as upstream  # type: ignore[import-not-found]

from django_jwtsession.backends import db, jwt
from django_jwtsession.middleware import SessionMiddleware

from . import ENGINES
from .expectations import JWT_SKIPS
from .shims import RecordSessions, TokenSessions


def _skip_as_signed_cookies(cls: type[Any]) -> type[Any]:
    """Skip the tests ``CookieSessionTests`` skips (or empties), with its reason."""
    for name, reason in JWT_SKIPS.items():
        setattr(cls, name, unittest.skip(reason)(getattr(upstream.SessionTestsMixin, name)))
    return cls


@_skip_as_signed_cookies
class JwtSessionTests(upstream.SessionTestsMixin, TestCase):  # type: ignore[misc]
    """The mixin against the jwt store (a ``TestCase``: it writes records and state)."""

    backend = jwt.SessionStore


class DbSessionTests(upstream.DatabaseSessionTests):  # type: ignore[misc]
    """``DatabaseSessionTests`` (the mixin plus the tests reading the session table)
    against the db store, its table read through ``SessionRecord``."""

    backend = db.SessionStore
    session_engine = ENGINES["db"]

    @property
    def model(self) -> type[RecordSessions]:
        return RecordSessions


class OurMiddlewareMixin:
    """While the class runs, the upstream module's ``SessionMiddleware``,
    ``DatabaseSession`` and ``Session`` are ours: our middleware, the store under test
    and its sessions read through our store."""

    store: type[Any]
    sessions: type[Any]

    @classmethod
    def setUpClass(cls) -> None:
        patcher = mock.patch.multiple(
            upstream,
            SessionMiddleware=SessionMiddleware,
            DatabaseSession=cls.store,
            Session=cls.sessions,
        )
        patcher.start()
        cls.addClassCleanup(patcher.stop)  # type: ignore[attr-defined]
        super().setUpClass()  # type: ignore[misc]


@override_settings(SESSION_ENGINE=ENGINES["jwt"])
class JwtSessionMiddlewareTests(OurMiddlewareMixin, upstream.SessionMiddlewareTests):  # type: ignore[misc]
    store = jwt.SessionStore
    sessions = TokenSessions


@override_settings(SESSION_ENGINE=ENGINES["db"])
class DbSessionMiddlewareTests(OurMiddlewareMixin, upstream.SessionMiddlewareTests):  # type: ignore[misc]
    store = db.SessionStore
    sessions = RecordSessions
