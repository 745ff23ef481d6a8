"""The lazy user as a stand-in for a model instance: what it answers without the real user.

Equality and hashing by model and primary key, ``str``/``repr``, copies, ``dir()`` and
item access, for :class:`~django_jwtsession.users.ClaimsUser`: none of them costs a
query while the claims can answer, and each defers to the real user (or Django's
``AnonymousUser``) once there is one.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from django.db.models import Model
from django.utils.functional import empty

from . import user_model

if TYPE_CHECKING:
    from .claims import Claims


class ModelStandIn:
    """Dunder methods of :class:`~django_jwtsession.users.ClaimsUser`."""

    if TYPE_CHECKING:  # provided by ClaimsUser
        _wrapped: Any

        def _resolved(self) -> Claims | None: ...
        def _setup(self) -> None: ...
        def get_username(self) -> str: ...

    def __getitem__(self, key: Any) -> Any:
        # The template engine tries user["name"] before user.name: a model without
        # __getitem__ must fail that with TypeError, not load the real user first.
        self._resolved()
        if self._wrapped is empty:
            model = self.__dict__["_model"]
            if not user_model.class_has(model, "__getitem__"):
                raise TypeError(f"{model.__name__!r} object is not subscriptable")
            self._setup()
        return self._wrapped[key]

    def __dir__(self) -> list[str]:
        self._resolved()
        if self._wrapped is not empty:
            return dir(self._wrapped)
        d = self.__dict__
        names = {*dir(d["_model"]), *d["_answered"], "_state", *dir(type(self))}
        return sorted(names)

    def __eq__(self, other: object) -> bool:
        if self._resolved() is None:  # anonymous
            return bool(self._wrapped == other)
        if isinstance(other, ModelStandIn):
            if other._resolved() is None:
                return False
            other_model, other_pk = other.__dict__["_model"], other.__dict__["_pk"]
        elif isinstance(other, Model):
            other_model, other_pk = other._meta.concrete_model, other.pk
        else:
            return NotImplemented
        model = self.__dict__["_model"]
        return bool(model._meta.concrete_model == other_model._meta.concrete_model) and (
            self.__dict__["_pk"] == other_pk
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        if self._resolved() is None:
            return hash(self._wrapped)
        return hash(self.__dict__["_pk"])

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        self._resolved()
        model = self.__dict__["_model"]
        if self._wrapped is empty and user_model.default_str(model):
            return self.get_username()
        if self._wrapped is empty:
            self._setup()
        return str(self._wrapped)

    def __repr__(self) -> str:
        claims = self._resolved()
        return f"<ClaimsUser: {'anonymous' if claims is None else repr(claims.username)}>"

    def __copy__(self) -> Any:
        if self._resolved() is not None and self._wrapped is empty:
            d = self.__dict__
            copied: Any = type(self)
            return copied(d["_claims"], d["_model"], d["_loader"])
        return copy.copy(self._wrapped)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        if self._resolved() is not None and self._wrapped is empty:
            result = self.__copy__()
            memo[id(self)] = result
            return result
        return copy.deepcopy(self._wrapped, memo)
