"""Rebuilding claims from the database, with Django's ``get_user()`` semantics.

Runs only when claims are missing, older than ``CLAIMS_TTL`` or belong to
another user: one query for the user (with the claim sources' relations
``select_related``) and, with the default provider, one for the roles.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare, salted_hmac

from .claims import related_paths
from .derived import derived
from .keys import get_key_ring

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


def fetch_user(backend: Any, user_id: str) -> AbstractBaseUser | None:
    """``backend.get_user(user_id)``; ``ModelBackend``'s own with the claim relations joined."""
    from django.contrib.auth.backends import ModelBackend  # needs the app registry

    if type(backend).get_user is not ModelBackend.get_user:
        return backend.get_user(user_id)  # type: ignore[no-any-return]
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
        users = user_model._default_manager.all()
        paths = related_paths()
        if paths:  # select_related() without names would follow every foreign key
            users = users.select_related(*paths)
        user = users.get(pk=pk)
    except (user_model.DoesNotExist, ValidationError, ValueError, TypeError):
        return None
    return user if backend.user_can_authenticate(user) else None


def session_user(data: dict[str, Any]) -> tuple[AbstractBaseUser | None, str | None]:
    """Return ``(user, upgraded_hash)`` for session ``data``; ``user`` is None when it ends.

    ``upgraded_hash`` is set when the session hash verified only with a key from
    ``SECRET_KEY_FALLBACKS``: the caller stores it and cycles the session id, as
    Django's ``get_user()`` does.
    """
    user, upgraded_hash, _ = session_user_verdict(data)
    return user, upgraded_hash


def session_user_verdict(
    data: dict[str, Any],
) -> tuple[AbstractBaseUser | None, str | None, str | None]:
    """:func:`session_user`, and why the session ends when it does: ``"deactivated"`` (the
    user is gone, may not log in, or their backend is no longer configured) or
    ``"password_change"`` (the session's auth hash no longer matches)."""
    user_id, backend_path = data.get(SESSION_KEY), data.get(BACKEND_SESSION_KEY)
    if not isinstance(user_id, str) or not isinstance(backend_path, str):
        return None, None, "deactivated"
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None, None, "deactivated"
    user = fetch_user(load_backend(backend_path), user_id)
    if user is None:
        return None, None, "deactivated"
    if not hasattr(user, "get_session_auth_hash"):
        return user, None, None
    session_hash = data.get(HASH_SESSION_KEY)
    if not isinstance(session_hash, str) or not session_hash:
        return None, None, "password_change"
    current = user.get_session_auth_hash()
    if constant_time_compare(session_hash, current):
        return user, None, None
    if any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        return user, current, None
    return None, None, "password_change"


@derived
def hash_key_id() -> str:
    """A fingerprint of ``SECRET_KEY``, the key session auth hashes are made with.

    A session records it when its auth hash is verified (``hk``); a session whose
    fingerprint is not the current one has its claims rebuilt on its next request,
    which upgrades the hash through ``SECRET_KEY_FALLBACKS`` or ends the session, as
    Django's ``get_user()`` would — with no query on the steady-state path.

    It is keyed by the session key ring too (its encryption key, derived from the
    session secrets), so a token, even unencrypted, offers no offline test of a guess
    at ``SECRET_KEY`` when the sessions have secrets of their own (``SECRET_KEYS``).
    """
    secret_fingerprint = salted_hmac("django_jwtsession.hash_key", "", algorithm="sha256")
    keyed = hmac.new(get_key_ring().current_encryption.key, secret_fingerprint.digest(), "sha256")
    return keyed.hexdigest()[:16]
