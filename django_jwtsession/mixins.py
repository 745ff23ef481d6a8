"""Class-based view mixins on Django's ``AccessMixin``, reading the claims (no query).

::

    class Dashboard(RoleRequiredMixin, SubscriptionRequiredMixin, TemplateView):
        required_roles = ["editor"]
        required_tier = "pro"

Anonymous: ``handle_no_permission()`` as Django's (a redirect to ``get_login_url()``,
or ``PermissionDenied`` with ``raise_exception``), except that a request that wants
JSON gets a JSON 401; signed in without the claim: ``PermissionDenied`` with
``permission_denied_message``, by default naming what is missing ("This page needs the
role editor."), a 403. Combined mixins check together, once. Async views
(``async def get``) work too. ``fresh = True`` checks the database instead. One of
several roles or flags: ``required_roles = any_of("admin", "editor")``.
``FreshLoginRequiredMixin`` (``fresh_login_max_age = 300``) asks for a recent sign-in.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

from .access import wanted
from .claims import Claims
from .fresh_login import checked_max_age, is_fresh, requirement, sign_in_again
from .guards import (
    Test,
    auser_of,
    denied,
    failing,
    flag_test,
    fresh_user,
    not_authenticated,
    role_test,
    tier_test,
    user_of,
    wants_json,
)

_DEPRECATED = {"any_role": "required_roles", "any_flag": "required_flags"}


class ClaimsAccessMixin(AccessMixin):
    """The base: runs every ``get_claims_tests()`` test before ``dispatch()``."""

    fresh = False
    """Rebuild the claims from the database for the check (see ``guards.fresh_user``)."""

    request: HttpRequest

    _failed: Test | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for old, new in _DEPRECATED.items():
            if cls.__dict__.get(old) is not None:
                warnings.warn(
                    f"{cls.__name__}.{old} is deprecated: set {new} = any_of(...) instead.",
                    DeprecationWarning,
                    stacklevel=2,
                )

    def get_claims_tests(self) -> list[Test]:
        """The tests the user must pass; each mixin adds its own."""
        return []

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        # What LoginRequiredMiddleware reads: this view answers anonymous requests itself.
        view.login_required = False
        return view

    def _passes(self, user: Any, tests: list[Test]) -> bool:
        if not tests or not user.is_authenticated:
            return False  # a guard always requires a signed-in user
        self._failed = failing(user, tests)
        return self._failed is None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        tests = self.get_claims_tests()
        if getattr(self, "view_is_async", False):
            return self._adispatch(tests, request, *args, **kwargs)
        user: Any = user_of(request)
        if self.fresh and user.is_authenticated:
            user = fresh_user(request)
        if not self._passes(user, tests):
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    async def _adispatch(
        self, tests: list[Test], request: HttpRequest, *args: Any, **kwargs: Any
    ) -> Any:
        user: Any = await auser_of(request)
        if self.fresh and user.is_authenticated:
            user = await sync_to_async(fresh_user)(request)
        if isinstance(getattr(user, "claims", None), Claims) or not user.is_authenticated:
            allowed = self._passes(user, tests)
        else:  # a user without claims: built with SQL
            allowed = await sync_to_async(self._passes)(user, tests)
        if not allowed:
            return await sync_to_async(self.handle_no_permission)()
        return await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_permission_denied_message(self) -> str:
        """``permission_denied_message`` if set, else what the failed test needs."""
        return str(self.permission_denied_message or denied(self._failed))

    def handle_no_permission(self) -> Any:
        """``AccessMixin``'s, with a JSON 401 for an anonymous request that wants JSON."""
        request = self.request
        anonymous = not user_of(request).is_authenticated
        if not self.raise_exception and anonymous and wants_json(request):
            return not_authenticated(request, self.get_login_url(), self.get_redirect_field_name())
        return super().handle_no_permission()


class RoleRequiredMixin(ClaimsAccessMixin):
    """Every one of ``required_roles`` (or one of them: ``any_of(...)``), with the hierarchy."""

    required_roles: str | Iterable[str] | None = None
    any_role: bool | None = None
    """Deprecated: ``required_roles = any_of(...)``."""

    def get_required_roles(self) -> str | Iterable[str]:
        if self.required_roles is None:
            raise _missing(self, "required_roles", "get_required_roles")
        return self.required_roles

    def get_claims_tests(self) -> list[Test]:
        test = role_test(wanted(self.get_required_roles(), any=self.any_role, warn=False))
        return [*super().get_claims_tests(), test]


class SubscriptionRequiredMixin(ClaimsAccessMixin):
    """The tier ``required_tier`` or a higher one in ``TIER_ORDER``."""

    required_tier: str | None = None

    def get_required_tier(self) -> str:
        if self.required_tier is None:
            raise _missing(self, "required_tier", "get_required_tier")
        return self.required_tier

    def get_claims_tests(self) -> list[Test]:
        return [*super().get_claims_tests(), tier_test(self.get_required_tier())]


class FeatureRequiredMixin(ClaimsAccessMixin):
    """Every one of ``required_flags`` (or one of them: ``any_of(...)``)."""

    required_flags: str | Iterable[str] | None = None
    any_flag: bool | None = None
    """Deprecated: ``required_flags = any_of(...)``."""

    def get_required_flags(self) -> str | Iterable[str]:
        if self.required_flags is None:
            raise _missing(self, "required_flags", "get_required_flags")
        return self.required_flags

    def get_claims_tests(self) -> list[Test]:
        test = flag_test(wanted(self.get_required_flags(), any=self.any_flag, warn=False))
        return [*super().get_claims_tests(), test]


class FreshLoginRequiredMixin(AccessMixin):
    """The user signed in (or re-authenticated) at most ``fresh_login_max_age`` seconds ago.

    Signed in longer ago: the login page with ``next`` (the session stays signed in), a
    JSON 401 for a request that wants JSON, or with ``raise_exception`` a 403. Put it first
    when combined with the claim mixins (``class V(FreshLoginRequiredMixin, RoleRequiredMixin,
    View)``): it checks before them.
    """

    fresh_login_max_age: int | None = None
    request: HttpRequest
    _stale = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        view.login_required = False  # LoginRequiredMiddleware: answers anonymous requests
        return view

    def get_fresh_login_max_age(self) -> int:
        if self.fresh_login_max_age is None:
            raise _missing(self, "fresh_login_max_age", "get_fresh_login_max_age")
        return checked_max_age(self.fresh_login_max_age)

    def _signed_in_lately(self, user: Any) -> bool:
        max_age = self.get_fresh_login_max_age()
        self._stale = bool(user.is_authenticated) and not is_fresh(self.request, max_age)
        return bool(user.is_authenticated) and not self._stale

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "view_is_async", False):
            return self._fresh_adispatch(request, *args, **kwargs)
        if not self._signed_in_lately(user_of(request)):
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    async def _fresh_adispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not self._signed_in_lately(await auser_of(request)):  # the session is read
            return await sync_to_async(self.handle_no_permission)()
        return await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def handle_no_permission(self) -> Any:
        """A sign-in too old: :func:`~django_jwtsession.fresh_login.sign_in_again` (or a 403
        with ``raise_exception``); anonymous: as the claim mixins."""
        request = self.request
        if self._stale:
            max_age = self.get_fresh_login_max_age()
            if self.raise_exception:
                raise PermissionDenied(f"This page needs {requirement(max_age)}.")
            login_url, field = self.get_login_url(), self.get_redirect_field_name()
            return sign_in_again(request, login_url, field, max_age)
        anonymous = not user_of(request).is_authenticated
        if not self.raise_exception and anonymous and wants_json(request):
            return not_authenticated(request, self.get_login_url(), self.get_redirect_field_name())
        return super().handle_no_permission()


def _missing(view: object, attribute: str, method: str) -> ImproperlyConfigured:
    name = type(view).__name__
    return ImproperlyConfigured(
        f"{name} is missing the {attribute} attribute. Define {name}.{attribute}, "
        f"or override {name}.{method}()."
    )
