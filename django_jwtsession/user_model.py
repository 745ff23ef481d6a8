"""What a user model's class says without an instance: for answering ``request.user``
probes with no query (see :class:`~django_jwtsession.users.ClaimsUser`)."""

from __future__ import annotations

import inspect

from django.db.models import Model

_MISSING = object()


def class_has(model: type[Model], name: str) -> bool:
    """True when ``name`` is defined on ``model`` or a base class (no descriptor runs)."""
    return any(name in klass.__dict__ for klass in model.__mro__)


def instances_may_add_attributes(model: type[Model]) -> bool:
    """True when the model's own code may give a loaded instance undeclared attributes."""
    return any(
        inspect.getattr_static(model, name) is not inspect.getattr_static(Model, name)
        for name in ("__init__", "from_db")
    ) or class_has(model, "__getattr__")


def lacks(model: type[Model], name: str) -> bool:
    """True when a loaded instance of ``model`` could not have attribute ``name``."""
    if inspect.getattr_static(model, name, _MISSING) is not _MISSING:
        return False
    if any(field.attname == name for field in model._meta.concrete_fields):
        return False
    return not instances_may_add_attributes(model)


def is_async_method(model: type[Model], name: str) -> bool:
    return inspect.iscoroutinefunction(inspect.getattr_static(model, name, None))


def default_str(model: type[Model]) -> bool:
    """True when ``str(user)`` is ``AbstractBaseUser``'s: the username."""
    from django.contrib.auth.base_user import AbstractBaseUser  # needs the app registry

    return model.__str__ is AbstractBaseUser.__str__
