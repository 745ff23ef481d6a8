"""Signal receivers, connected once in ``JWTSessionConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.core.signals import setting_changed

from .backends.base import ClaimsSessionBase
from .conf import clear_derived


def build_claims_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Build claims from the user ``login()`` was given, sparing a query at save time."""
    session = getattr(request, "session", None)
    if isinstance(session, ClaimsSessionBase):
        session.set_user(user)


def connect() -> None:
    setting_changed.connect(clear_derived, dispatch_uid="django_jwtsession.clear_derived")
    user_logged_in.connect(build_claims_on_login, dispatch_uid="django_jwtsession.login_claims")
