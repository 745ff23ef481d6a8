"""Who may impersonate whom, and whether an impersonator may still go back to themselves.

The rules (each refusal has a ``code`` and a message for people):

- the impersonator is signed in with this package's session engine, in a session of their
  own (``"already_impersonating"``: nobody impersonates while impersonating), and holds the
  ``django_jwtsession.impersonate`` permission (``"permission"``; superusers hold every
  permission);
- the user is another user (``"self"``), who can sign in (``"inactive"``: inactive users,
  or users the impersonator's authentication backend would not sign in; ``"banned"``);
- a superuser is impersonated only when ``IMPERSONATE_SUPERUSERS`` is True, and then by a
  superuser only (``"superuser"``); staff users are impersonated by superusers only
  (``"staff"``); a user holding a permission the impersonator does not is impersonated by
  superusers only (``"permissions"``): an impersonator never gains more than they hold.

:func:`verified_actor` decides, from what the impersonated session carries, whether its
impersonator still may act: checked when the impersonation ends and whenever its claims
are rebuilt (at least every ``CLAIMS_TTL``) — then with the user too, so a user made staff,
superuser or given a permission meanwhile is no longer acted as.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.exceptions import PermissionDenied

from .bans import active_ban
from .conf import get_settings
from .refresh import session_user
from .state import read_state

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from .actor import Actor

PERMISSION = "django_jwtsession.impersonate"
"""The permission that lets a user impersonate others ("Can impersonate users")."""


class ImpersonationRefused(PermissionDenied):
    """An impersonation cannot start (or stop): ``code`` says why, the message says it to
    people. A ``PermissionDenied``, so one left uncaught is a 403, never a 500."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def refusal(actor: Any, target: Any, session: Any) -> ImpersonationRefused | None:
    """Why ``actor`` (``request.user``) may not impersonate ``target`` in ``session``
    (``request.session``), or None when they may."""
    if not getattr(actor, "is_authenticated", False):
        return ImpersonationRefused("anonymous", "Sign in to impersonate a user.")
    if getattr(session, "actor", None) is not None:
        return ImpersonationRefused(
            "already_impersonating", "You are impersonating a user already: stop first."
        )
    if getattr(session, "identity", None) is None or BACKEND_SESSION_KEY not in session:
        return ImpersonationRefused(
            "engine", "Impersonation needs django_jwtsession's session engine."
        )
    if not actor.has_perm(PERMISSION):
        return ImpersonationRefused("permission", "You may not impersonate users.")
    if target is None or getattr(target, "pk", None) is None:
        return ImpersonationRefused("unknown", "There is no such user.")
    name = target.get_username()
    if str(target.pk) == str(actor.pk):
        return ImpersonationRefused("self", "You cannot impersonate yourself.")
    beyond = beyond_actor(actor, target)
    if beyond is not None:
        return beyond
    if active_ban(target) is not None:
        return ImpersonationRefused("banned", f"{name} is banned: not impersonated.")
    backend = session[BACKEND_SESSION_KEY]
    if session_user(session_data(target, backend))[0] is None:
        return ImpersonationRefused("inactive", f"{name} cannot sign in: not impersonated.")
    return None


def beyond_actor(actor: Any, target: Any) -> ImpersonationRefused | None:
    """Why ``target`` holds more than ``actor`` (superuser, staff, a permission the actor
    lacks), or None: an impersonator never gains more than they hold."""
    name = target.get_username()
    actor_is_superuser = bool(getattr(actor, "is_superuser", False))
    if getattr(target, "is_superuser", False) and not (
        get_settings().impersonate_superusers and actor_is_superuser
    ):
        return ImpersonationRefused("superuser", f"{name} is a superuser: not impersonated.")
    if actor_is_superuser:
        return None  # holds every permission
    if getattr(target, "is_staff", False):
        return ImpersonationRefused("staff", f"{name} is staff: only superusers impersonate staff.")
    if not _permissions(target) <= _permissions(actor):
        return ImpersonationRefused(
            "permissions",
            f"{name} holds permissions you do not: only superusers impersonate them.",
        )
    return None


def _permissions(user: Any) -> set[str]:
    """Every permission ``user`` holds through the authentication backends (none for a user
    model without permissions)."""
    get_all = getattr(user, "get_all_permissions", None)
    return set(get_all()) if callable(get_all) else set()


def verified_actor(actor: Actor, user: Any = None) -> AbstractBaseUser | None:
    """The impersonator, when they still may act and go back to themselves: they exist,
    can sign in through the same backend, their password (auth hash) is unchanged, their
    sessions were not revoked since (``revoke_user()``, a ban, a password change), and they
    still hold the permission — and, given the impersonated ``user``, that user still holds
    nothing more than they do (:func:`beyond_actor`). Else None."""
    data = {
        SESSION_KEY: actor.user_id,
        BACKEND_SESSION_KEY: actor.backend,
        HASH_SESSION_KEY: actor.auth_hash,
    }
    impersonator, _ = session_user(data)
    if impersonator is None or not getattr(impersonator, "has_perm", lambda p: False)(PERMISSION):
        return None
    if read_state(actor.user_id, None).user_epoch > actor.user_epoch:
        return None  # their sessions were revoked since: no way back
    if user is not None and beyond_actor(impersonator, user) is not None:
        return None  # the user was given more meanwhile: no longer acted as
    return impersonator


def session_data(user: AbstractBaseUser, backend: str) -> dict[str, Any]:
    """What ``login()`` stores for ``user`` signed in through ``backend``."""
    return {
        SESSION_KEY: user._meta.pk.value_to_string(user),
        BACKEND_SESSION_KEY: backend,
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
