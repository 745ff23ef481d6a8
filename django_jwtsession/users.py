"""``request.user`` built from claims: zero SQL for what the claims answer.

``ClaimsUser`` answers ``pk``/the pk attribute, the ``USERNAME_FIELD``,
``get_username()``, ``is_active``, ``is_staff``, ``is_superuser``,
``is_authenticated`` and ``is_anonymous`` from the claims, plus ``roles``,
``tier``, ``flags`` and ``claims`` (always from the claims). Anything else loads
the real, fresh user once and proxies to it, so ``save()`` writes real values,
never claim values. ``isinstance`` checks, ``obj.owner = request.user``,
``filter(owner=request.user)`` and template lookups of claim attributes work
without a query; probes for names the user model does not have (``hasattr``)
answer False without one. In async code, ``await user.aload()`` loads the real
user, and the model's async methods (``await user.ahas_perm(...)``) load it
themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.db import router
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils.functional import LazyObject, empty

from . import user_model
from .claims import Claims
from .user_standin import ModelStandIn

_MISSING = object()
_ASYNC_HINT = (
    "request.user needs the real user for this, which takes a query: in async code, "
    "`await user.aload()` first (or call the model's async methods, e.g. "
    "`await user.ahas_perm(...)`)."
)


class ClaimsUser(ModelStandIn, LazyObject):  # type: ignore[type-arg]  # generic in stubs
    """A lazy user: claims first, the real user (one query) for everything else."""

    # LazyObject's Python-level __getattribute__ only hides its dunder proxies from
    # hasattr(); it costs a function call on every attribute read of request.user.
    __getattribute__ = object.__getattribute__

    def __init__(self, claims: Claims, model: type[Model], loader: Callable[[], Any]) -> None:
        d = self.__dict__
        d["_model"], d["_loader"] = model, loader
        d["_wrapped"] = empty  # what LazyObject.__init__ does, without its __setattr__
        self._answer(claims)

    @classmethod
    def deferred(
        cls, resolve: Callable[[], Claims | None], model: type[Model], loader: Callable[[], Any]
    ) -> ClaimsUser:
        """A user whose claims are read (``resolve()``: the session loads) on first use;
        Django's ``AnonymousUser`` when there are none."""
        user = cls.__new__(cls)
        d = user.__dict__
        d["_model"], d["_loader"], d["_wrapped"] = model, loader, empty
        d["_claims"], d["_answered"], d["_resolve"] = None, (), resolve
        return user

    def _answer(self, claims: Claims) -> None:
        d = self.__dict__
        model = d["_model"]
        pk = model._meta.pk.to_python(claims.user_id)
        d["_claims"], d["_pk"] = claims, pk
        # The hottest claim answers sit in the instance dict, so reading them costs no
        # __getattr__ round trip; they are dropped once the real user is loaded.
        answers = {
            "pk": pk,
            model._meta.pk.attname: pk,
            model.USERNAME_FIELD: claims.username,
            "is_active": claims.is_active,
            "is_staff": claims.is_staff,
            "is_superuser": claims.is_superuser,
            "is_authenticated": True,
            "is_anonymous": False,
        }
        d.update(answers)
        d["_answered"] = tuple(answers)

    def _resolved(self) -> Claims | None:
        """The claims, read on first use; None when the request is anonymous — from the
        start, or since loading the real user found it gone."""
        d = self.__dict__
        resolve = d.pop("_resolve", None)
        if resolve is not None:
            claims = resolve()
            if claims is None:
                from django.contrib.auth.models import AnonymousUser  # needs the app registry

                d["_wrapped"] = AnonymousUser()
            else:
                self._answer(claims)
        wrapped = d["_wrapped"]
        if wrapped is not empty and not getattr(wrapped, "is_authenticated", True):
            return None
        return d["_claims"]  # type: ignore[no-any-return]

    def _setup(self) -> None:
        d = self.__dict__
        self._resolved()
        if d["_wrapped"] is not empty:
            return  # anonymous: nothing to load (and the session is left alone)
        try:
            real = d["_loader"]()
        except SynchronousOnlyOperation as exc:
            raise SynchronousOnlyOperation(_ASYNC_HINT) from exc
        d["_wrapped"] = real
        for name in d["_answered"]:
            d.pop(name, None)  # from now on the real user answers
        for name, value in d.pop("_assigned", {}).items():  # set before it was loaded
            d.pop(name, None)
            setattr(real, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        """An attribute set before the real user is loaded is kept here (no query) and set
        on the real user when it loads (``request.user.otp_device = None`` costs nothing);
        a claim-answered attribute (``is_staff``, …) loads the real user first."""
        d = self.__dict__
        if name == "_wrapped":
            d["_wrapped"] = value
            return
        self._resolved()
        if d["_wrapped"] is empty and name not in d["_answered"]:
            d.setdefault("_assigned", {})[name] = value
            d[name] = value
            return
        if d["_wrapped"] is empty:
            self._setup()
        setattr(d["_wrapped"], name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_resolve" in d:
            self._resolved()
            if name in d:
                return d[name]
        if self._wrapped is empty:
            value = self._from_claims(name)
            if value is not _MISSING:
                return value
            self._setup()
        return getattr(self._wrapped, name)

    def _from_claims(self, name: str) -> Any:
        claims: Claims = self.__dict__["_claims"]
        model = self.__dict__["_model"]
        if name == "pk" or name == model._meta.pk.attname:
            return self.__dict__["_pk"]
        if name == model.USERNAME_FIELD:
            return claims.username
        if name in ("is_active", "is_staff", "is_superuser"):
            return getattr(claims, name)
        if name == "is_authenticated":
            return True
        if name == "is_anonymous":
            return False
        if name == "_meta":
            return model._meta
        if name == "_is_pk_set":  # Django 5.2+ checks it when saving an object assigned to an FK
            return lambda meta=None: True
        if name == "_state":
            state = ModelState()
            state.adding = False
            state.db = router.db_for_read(model)
            self.__dict__["_state"] = state
            return state
        return self._from_model(name, model)

    def _from_model(self, name: str, model: type[Model]) -> Any:
        """Answer what needs no real user: missing names, the model's async methods."""
        if user_model.lacks(model, name):
            # The real user would not have it either: hasattr() probes (Django's
            # resolve_expression, the template engine's) must not cost a query.
            raise AttributeError(f"{model.__name__!r} object has no attribute {name!r}")
        if user_model.is_async_method(model, name):
            return self._loading_async(name)
        return _MISSING

    def _loading_async(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await getattr(await self.aload(), name)(*args, **kwargs)

        method.__name__ = method.__qualname__ = name
        return method

    def load(self) -> Any:
        """The real user, loaded now (once) with Django's ``get_user()`` checks: Django's
        ``AnonymousUser`` when it is gone, inactive, or no longer the session's (its row
        replaced behind our back, its password changed). For what must not trust the
        claims alone — e.g. listing the user's own sessions."""
        self._resolved()
        if self._wrapped is empty:
            self._setup()
        return self._wrapped

    async def aload(self) -> Model:
        """Load the real user without blocking the event loop (once) and return it.

        In async code, await it before reading attributes the claims do not answer;
        afterwards ``user.email`` and the like read the loaded instance.
        """
        if "_resolve" in self.__dict__:
            await sync_to_async(self._resolved)()
        if self._wrapped is empty:
            await sync_to_async(self._setup)()
        return self._wrapped  # type: ignore[no-any-return]

    # From the claims (empty, or None, once the request is anonymous).
    @property
    def claims(self) -> Claims | None:
        return self._resolved()

    @property
    def roles(self) -> frozenset[str]:
        claims = self._resolved()
        return frozenset() if claims is None else claims.roles

    @property
    def tier(self) -> str | None:
        claims = self._resolved()
        return None if claims is None else claims.tier

    @property
    def flags(self) -> frozenset[str]:
        claims = self._resolved()
        return frozenset() if claims is None else claims.flags

    @property
    def is_loaded(self) -> bool:
        """True once the real user has been fetched (or the request is anonymous)."""
        self._resolved()
        return self._wrapped is not empty

    def get_username(self) -> str:
        claims = self._resolved()
        d = self.__dict__
        if d["_wrapped"] is empty and claims is not None:
            return claims.username
        return str(d["_wrapped"].get_username())

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        self._resolved()
        if self._wrapped is empty:
            return self.__dict__["_model"]  # type: ignore[no-any-return]
        return type(self._wrapped)
