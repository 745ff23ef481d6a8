"""Signal receivers, connected in ``JWTSessionConfig.ready()``.

Changes that make claims stale mark the user (their next request rebuilds the
claims); a password change or a deleted user ends every session of that user.
Bulk paths that send no signals (``QuerySet.update()``, ``bulk_create``) are
covered by ``mark_for_refresh(queryset)`` and, at worst, by ``CLAIMS_TTL``.

Model receivers are connected to their senders only — the user model, its
``groups`` relation (when it has one) and the ``MARK_MODELS`` — so other models'
saves pay nothing; they follow ``AUTH_USER_MODEL`` and ``JWTSESSION`` when those
settings change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished, setting_changed
from django.db.models import ManyToManyField, Model
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete
from django.dispatch import Signal

from .backends.base import ClaimsSessionBase
from .claims import resolve_source
from .conf import SETTING_NAME, get_settings
from .derived import clear_derived
from .metrics import flush_if_due
from .revocation import mark_for_refresh, retry_unmirrored, revoke_user
from .signin import gate

TRACKED_FIELDS = ("is_active", "is_staff", "is_superuser", "password")
_SNAPSHOT = "_jwtsession_snapshot"
DJANGO_LAST_LOGIN = "update_last_login"
"""The ``dispatch_uid`` of ``django.contrib.auth``'s receiver that writes ``last_login``."""
_connected: list[tuple[Signal, Callable[..., Any], type[Model], str]] = []


def build_claims_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Build claims from the user ``login()`` was given, sparing a query at save time."""
    session = getattr(request, "session", None)
    if isinstance(session, ClaimsSessionBase):
        session.set_user(user)


def _snapshot(user: Model) -> tuple[Any, ...]:
    names = (*TRACKED_FIELDS, getattr(type(user), "USERNAME_FIELD", "username"))
    return tuple(user.__dict__.get(name) for name in names)


def remember_user_fields(sender: Any, instance: Model, **kwargs: Any) -> None:
    instance.__dict__[_SNAPSHOT] = _snapshot(instance)


def user_saved(sender: Any, instance: Model, created: bool, **kwargs: Any) -> None:
    """Password changed, or the user deactivated: end the user's sessions. Other tracked
    fields: mark the user."""
    before, after = instance.__dict__.get(_SNAPSHOT), _snapshot(instance)
    instance.__dict__[_SNAPSHOT] = after
    if created or before is None or before == after:
        return
    password, active = TRACKED_FIELDS.index("password"), TRACKED_FIELDS.index("is_active")
    if before[password] != after[password]:
        revoke_user(instance, reason="password_change")  # update_session_auth_hash() keeps one
    elif before[active] and after[active] is False:
        revoke_user(instance, reason="deactivated")
    mark_for_refresh(instance)


def user_deleted(sender: Any, instance: Model, **kwargs: Any) -> None:
    revoke_user(instance)


def groups_changed(
    sender: Any, instance: Model, action: str, reverse: bool, pk_set: set[Any] | None, **kwargs: Any
) -> None:
    """``user.groups.add/remove/clear/set`` and ``group.user_set.…``: mark the users."""
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            mark_for_refresh(instance)
    elif action in ("post_add", "post_remove") and pk_set:
        mark_for_refresh(list(pk_set))
    elif action == "pre_clear":
        mark_for_refresh(_members(instance))


def group_changed(sender: Any, instance: Model, **kwargs: Any) -> None:
    """A renamed or deleted group changes its members' roles."""
    if instance.pk is not None:
        mark_for_refresh(_members(instance))


def _members(group: Model) -> Any:
    return get_user_model()._default_manager.filter(groups=group.pk)


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


def _groups_relation(user_model: type[Model]) -> ManyToManyField[Any, Any] | None:
    """The user model's ``groups`` many-to-many field, when it has one."""
    field = next((f for f in user_model._meta.many_to_many if f.name == "groups"), None)
    return field if isinstance(field, ManyToManyField) else None


def _marked_models() -> list[type[Model]]:
    try:
        labels = get_settings().mark_models
    except Exception:  # invalid settings are reported by the system checks
        return []
    found = []
    for label in labels:
        try:
            found.append(apps.get_model(label))
        except (LookupError, ValueError):  # reported by the system checks
            continue
    return found


def _connect(signal: Signal, receiver: Callable[..., Any], sender: type[Model], uid: str) -> None:
    signal.connect(receiver, sender=sender, dispatch_uid=uid)
    _connected.append((signal, receiver, sender, uid))


def connect_models() -> None:
    """Connect the model receivers to the current user model, groups and ``MARK_MODELS``."""
    disconnect_models()
    try:
        user_model = get_user_model()
    except (ImproperlyConfigured, LookupError):  # reported by Django's own checks
        return
    _connect(post_init, remember_user_fields, user_model, "django_jwtsession.user_snapshot")
    _connect(post_save, user_saved, user_model, "django_jwtsession.user_saved")
    _connect(post_delete, user_deleted, user_model, "django_jwtsession.user_deleted")
    groups = _groups_relation(user_model)
    if groups is not None:
        through = groups.remote_field.through
        group = groups.related_model
        assert isinstance(group, type)  # noqa: S101  (resolved once the registry is ready)
        assert isinstance(through, type)  # noqa: S101
        _connect(m2m_changed, groups_changed, through, "django_jwtsession.groups_changed")
        _connect(post_save, group_changed, group, "django_jwtsession.group_saved")
        _connect(pre_delete, group_changed, group, "django_jwtsession.group_deleted")
    for model in _marked_models():
        _connect(post_save, marked_model_changed, model, "django_jwtsession.marked_saved")
        _connect(post_delete, marked_model_changed, model, "django_jwtsession.marked_deleted")


def disconnect_models() -> None:
    while _connected:
        signal, receiver, sender, uid = _connected.pop()
        signal.disconnect(receiver, sender=sender, dispatch_uid=uid)


def settings_changed(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed``: forget derived values; follow a new user model or MARK_MODELS."""
    clear_derived()
    if setting in (SETTING_NAME, "AUTH_USER_MODEL") and apps.ready:
        connect_models()


def connect() -> None:
    setting_changed.connect(settings_changed, dispatch_uid="django_jwtsession.settings_changed")
    user_logged_in.connect(build_claims_on_login, dispatch_uid="django_jwtsession.login_claims")
    user_logged_in.connect(gate, dispatch_uid="django_jwtsession.sign_in_gate")  # claims first
    # Django's receiver that writes last_login (connected by django.contrib.auth when the user
    # model has the field) goes after the gate: a refused sign-in is no sign-in.
    if user_logged_in.disconnect(dispatch_uid=DJANGO_LAST_LOGIN):
        from django.contrib.auth.models import update_last_login  # models are ready by now

        user_logged_in.connect(update_last_login, dispatch_uid=DJANGO_LAST_LOGIN)
    request_finished.connect(flush_if_due, dispatch_uid="django_jwtsession.metrics_flush")
    request_finished.connect(retry_unmirrored, dispatch_uid="django_jwtsession.retry_unmirrored")
    connect_models()
