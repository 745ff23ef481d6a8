"""View decorators shaped like ``django.contrib.auth.decorators.permission_required``.

::

    @role_required("editor")
    def edit(request): ...

    @subscription_required("pro")
    async def report(request): ...

    @feature_required(any_of("beta", "new-ui"), raise_exception=True)
    def preview(request): ...

    @fresh_login_required(max_age=300)
    def delete_account(request): ...

They read the claims (no query). Anonymous: a redirect to the login page, or a JSON
401 for a request that wants JSON; signed in without the claim: ``PermissionDenied``
(a 403) whose message names what is missing ("This page needs the role editor.");
``raise_exception=True`` gives the 403 to anonymous requests too.
``fresh=True`` checks the database instead (see :func:`guards.fresh_user`).
``fresh_login_required`` asks for a recent sign-in (see :mod:`~django_jwtsession.fresh_login`).
Under ``LoginRequiredMiddleware`` a guarded view answers anonymous requests itself
(a guard implies login), so its ``login_url`` and the JSON 401 apply there too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from .access import wanted
from .fresh_login import checked_max_age, is_fresh, requirement, sign_in_again
from .guards import (
    Test,
    apasses,
    auser_of,
    denied,
    flag_test,
    fresh_user,
    not_authenticated,
    passes,
    role_test,
    tier_test,
    user_of,
)

View = TypeVar("View", bound=Callable[..., Any])


def claims_passes_test(
    test: Test, login_url: str | None = None, raise_exception: bool = False, fresh: bool = False
) -> Callable[[View], View]:
    """Guard a sync or async view with ``test(user)``: the base of the decorators below."""

    def decorator(view_func: View) -> View:
        def deny(request: HttpRequest, user: Any) -> HttpResponseBase:
            if raise_exception or user.is_authenticated:
                raise denied(test)
            return not_authenticated(request, login_url, REDIRECT_FIELD_NAME)

        wrapper: Callable[..., Any]
        if iscoroutinefunction(view_func):

            async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                user: Any = await auser_of(request)
                if fresh and user.is_authenticated:
                    user = await sync_to_async(fresh_user)(request)
                if await apasses(user, (test,)):
                    return await view_func(request, *args, **kwargs)
                return deny(request, user)

        else:

            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                user: Any = user_of(request)
                if fresh and user.is_authenticated:
                    user = fresh_user(request)
                if passes(user, (test,)):
                    return view_func(request, *args, **kwargs)
                return deny(request, user)

        return _login_guard(wraps(view_func)(wrapper), login_url)  # type: ignore[no-any-return]

    return decorator


def role_required(
    roles: str | Iterable[str],
    login_url: str | None = None,
    raise_exception: bool = False,
    *,
    fresh: bool = False,
    any: bool | None = None,
) -> Callable[[View], View]:
    """Every one of ``roles`` (or one of them: ``any_of("admin", "editor")``), as
    ``ROLE_HIERARCHY`` implies them. Superusers pass unless ``SUPERUSER_HAS_ALL_ROLES`` is
    False. ``any=True`` is the deprecated spelling of ``any_of``."""
    test = role_test(wanted(roles, any=any))
    return claims_passes_test(test, login_url, raise_exception, fresh)


def subscription_required(
    min_tier: str,
    login_url: str | None = None,
    raise_exception: bool = False,
    *,
    fresh: bool = False,
) -> Callable[[View], View]:
    """The tier ``min_tier`` or a higher one in ``TIER_ORDER`` (without an order: that tier)."""
    return claims_passes_test(tier_test(min_tier), login_url, raise_exception, fresh)


def feature_required(
    flags: str | Iterable[str],
    login_url: str | None = None,
    raise_exception: bool = False,
    *,
    fresh: bool = False,
    any: bool | None = None,
) -> Callable[[View], View]:
    """Every one of the feature ``flags`` (or one of them: ``any_of("beta", "new-ui")``).
    ``any=True`` is the deprecated spelling of ``any_of``."""
    test = flag_test(wanted(flags, any=any))
    return claims_passes_test(test, login_url, raise_exception, fresh)


def fresh_login_required(
    *, max_age: int, login_url: str | None = None, raise_exception: bool = False
) -> Callable[[View], View]:
    """The user signed in (or re-authenticated) at most ``max_age`` seconds ago.

    Anonymous: as the other guards. Signed in longer ago: the login page, with ``next`` to
    come back (the session stays signed in), or a JSON 401 with ``code``
    ``"fresh_login_required"``; ``raise_exception=True`` gives a 403 instead. No query.
    """
    max_age = checked_max_age(max_age)

    def decorator(view_func: View) -> View:
        def refusal(request: HttpRequest, user: Any) -> HttpResponseBase | None:
            if not user.is_authenticated:
                if raise_exception:
                    raise PermissionDenied
                return not_authenticated(request, login_url, REDIRECT_FIELD_NAME)
            if is_fresh(request, max_age):
                return None
            if raise_exception:
                raise PermissionDenied(f"This page needs {requirement(max_age)}.")
            return sign_in_again(request, login_url, REDIRECT_FIELD_NAME, max_age)

        wrapper: Callable[..., Any]
        if iscoroutinefunction(view_func):

            async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refused = refusal(request, await auser_of(request))  # the session is read
                if refused is not None:
                    return refused
                return await view_func(request, *args, **kwargs)

        else:

            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refused = refusal(request, user_of(request))
                return view_func(request, *args, **kwargs) if refused is None else refused

        return _login_guard(wraps(view_func)(wrapper), login_url)  # type: ignore[no-any-return]

    return decorator


def _login_guard(guarded: Any, login_url: str | None) -> Any:
    """What LoginRequiredMiddleware reads: this view answers anonymous requests itself."""
    guarded.login_required = False
    guarded.login_url = login_url
    guarded.redirect_field_name = REDIRECT_FIELD_NAME
    return guarded
