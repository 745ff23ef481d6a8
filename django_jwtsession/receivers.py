"""Signal receivers, connected once in ``JWTSessionConfig.ready()``.

Changes that make claims stale mark the user (their next request rebuilds the
claims); a password change or a deleted user ends every session of that user.
Bulk paths that send no signals (``QuerySet.update()``, ``bulk_create``) are
covered by ``mark_for_refresh(queryset)`` and, at worst, by ``CLAIMS_TTL``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in
from django.core.signals import request_finished, setting_changed
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete

from .backends.base import ClaimsSessionBase
from .claims import resolve_source
from .conf import clear_derived, get_settings
from .metrics import flush_if_due
from .state import mark_for_refresh, retry_unmirrored, revoke_user

TRACKED_FIELDS = ("is_active", "is_staff", "is_superuser", "password")
_SNAPSHOT = "_jwtsession_snapshot"


def build_claims_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Build claims from the user ``login()`` was given, sparing a query at save time."""
    session = getattr(request, "session", None)
    if isinstance(session, ClaimsSessionBase):
        session.set_user(user)


def _snapshot(user: Model) -> tuple[Any, ...]:
    names = (*TRACKED_FIELDS, getattr(type(user), "USERNAME_FIELD", "username"))
    return tuple(user.__dict__.get(name) for name in names)


def remember_user_fields(sender: Any, instance: Model, **kwargs: Any) -> None:
    if sender is get_user_model():
        instance.__dict__[_SNAPSHOT] = _snapshot(instance)


def user_saved(sender: Any, instance: Model, created: bool, **kwargs: Any) -> None:
    """Password changed: end the user's sessions. Other tracked fields: mark the user."""
    if sender is not get_user_model():
        return
    before, after = instance.__dict__.get(_SNAPSHOT), _snapshot(instance)
    instance.__dict__[_SNAPSHOT] = after
    if created or before is None or before == after:
        return
    password_index = TRACKED_FIELDS.index("password")
    if before[password_index] != after[password_index]:
        revoke_user(instance)  # update_session_auth_hash() keeps the current one
    mark_for_refresh(instance)


def user_deleted(sender: Any, instance: Model, **kwargs: Any) -> None:
    if sender is get_user_model():
        revoke_user(instance)


def groups_changed(
    sender: Any, instance: Model, action: str, reverse: bool, pk_set: set[Any] | None, **kwargs: Any
) -> None:
    """``user.groups.add/remove/clear/set`` and ``group.user_set.…``: mark the users."""
    if sender is not get_user_model().groups.through:
        return
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            mark_for_refresh(instance)
    elif action in ("post_add", "post_remove") and pk_set:
        mark_for_refresh(list(pk_set))
    elif action == "pre_clear":
        mark_for_refresh(instance.user_set.all())  # type: ignore[attr-defined]


def group_changed(sender: Any, instance: Group, **kwargs: Any) -> None:
    """A renamed or deleted group changes its members' roles."""
    if instance.pk is not None:
        mark_for_refresh(instance.user_set.all())


def marked_model_changed(sender: Any, instance: Model, **kwargs: Any) -> None:
    """``JWTSESSION["MARK_MODELS"]``: a change to e.g. a subscription marks its user."""
    path = get_settings().mark_models.get(sender._meta.label)
    if path is None:
        return
    if "." not in path:
        field_id = getattr(instance, f"{path}_id", None)
        if field_id is not None:
            mark_for_refresh(field_id)
            return
    user = resolve_source(instance, path)
    if user is not None:
        mark_for_refresh(user)


def connect() -> None:
    setting_changed.connect(clear_derived, dispatch_uid="django_jwtsession.clear_derived")
    user_logged_in.connect(build_claims_on_login, dispatch_uid="django_jwtsession.login_claims")
    post_init.connect(remember_user_fields, dispatch_uid="django_jwtsession.user_snapshot")
    post_save.connect(user_saved, dispatch_uid="django_jwtsession.user_saved")
    post_delete.connect(user_deleted, dispatch_uid="django_jwtsession.user_deleted")
    m2m_changed.connect(groups_changed, dispatch_uid="django_jwtsession.groups_changed")
    post_save.connect(group_changed, sender=Group, dispatch_uid="django_jwtsession.group_saved")
    pre_delete.connect(group_changed, sender=Group, dispatch_uid="django_jwtsession.group_deleted")
    post_save.connect(marked_model_changed, dispatch_uid="django_jwtsession.marked_saved")
    post_delete.connect(marked_model_changed, dispatch_uid="django_jwtsession.marked_deleted")
    request_finished.connect(flush_if_due, dispatch_uid="django_jwtsession.metrics_flush")
    request_finished.connect(retry_unmirrored, dispatch_uid="django_jwtsession.retry_unmirrored")
