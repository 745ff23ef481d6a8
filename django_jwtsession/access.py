"""Who may: roles (with a hierarchy), subscription tiers (in order) and feature flags.

The one place the guards (decorators, mixins, template helpers) and the REST
framework permissions ask. It reads the claims, so a check costs no query; a user
without claims (another session engine, another authentication) has them built
once from the database and remembered on the user object.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .claims import Claims, build_claims
from .conf import get_settings
from .derived import derived

_BUILT = "_jwtsession_claims"


def claims_of(user: Any) -> Claims | None:
    """The user's claims: from the session (no query), else built once; None if anonymous."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    claims = getattr(user, "claims", None)
    if isinstance(claims, Claims):
        return claims
    built: Claims | None = getattr(user, _BUILT, None)
    if built is None:
        built = build_claims(user)
        with suppress(AttributeError):  # an object that takes no attributes: build each time
            setattr(user, _BUILT, built)
    return built


@derived
def _implied() -> dict[str, frozenset[str]]:
    """Each role mapped to every role it implies (``ROLE_HIERARCHY``, transitively)."""
    hierarchy = get_settings().role_hierarchy
    closure: dict[str, frozenset[str]] = {}
    for role in hierarchy:
        seen: set[str] = set()
        pending = list(hierarchy[role])
        while pending:
            implied = pending.pop()
            if implied not in seen:
                seen.add(implied)
                pending.extend(hierarchy.get(implied, ()))
        closure[role] = frozenset(seen)
    return closure


def effective_roles(claims: Claims) -> frozenset[str]:
    """The claims' roles plus every role they imply."""
    implied = _implied()
    roles = set(claims.roles)
    for role in claims.roles:
        roles |= implied.get(role, frozenset())
    return frozenset(roles)


class AnyOf(frozenset[str]):
    """Names of which one is enough; made by :func:`any_of`."""

    def __repr__(self) -> str:
        return f"any_of({', '.join(map(repr, sorted(self)))})"


def any_of(*names: str | Iterable[str]) -> AnyOf:
    """One of these roles or flags is enough: ``any_of("admin", "editor")``.

    The one spelling of "any of" wherever roles or flags are required: decorators
    (``role_required(any_of("admin", "editor"))``), mixins and REST framework views
    (``required_roles = any_of(...)``), :func:`has_role` / :func:`has_flag`; in templates,
    ``user|has_role:"any_of:admin,editor"``. A list (or a plain name) means every one.
    """
    flat: list[str] = []
    for name in names:
        flat.extend([name] if isinstance(name, str) else name)
    if not flat or not all(isinstance(name, str) and name for name in flat):
        raise ValueError(f"any_of() needs one or more names, got {names!r}.")
    return AnyOf(flat)


def wanted(
    names: str | Iterable[str], *, any: bool | None = None, warn: bool = True
) -> frozenset[str]:
    """``names`` as a set: an :class:`AnyOf` stays one. ``any=True`` is the deprecated
    spelling of :func:`any_of` (warned about unless the caller did already)."""
    if any is not None and warn:
        warnings.warn(
            "The any= argument is deprecated: pass any_of(...) as the names instead.",
            DeprecationWarning,
            stacklevel=3,
        )
    if isinstance(names, AnyOf):
        return names
    found = frozenset([names] if isinstance(names, str) else names)
    return AnyOf(found) if any else found


def _matches(required: frozenset[str], held: frozenset[str]) -> bool:
    return bool(required & held) if isinstance(required, AnyOf) else required <= held


def has_role(user: Any, roles: str | Iterable[str], *, any: bool | None = None) -> bool:
    """Whether the user has every one of ``roles`` (or, for :func:`any_of`, one of them).

    Superusers have every role unless ``SUPERUSER_HAS_ALL_ROLES`` is False.
    """
    required = wanted(roles, any=any)
    claims = claims_of(user)
    if claims is None or not claims.is_active:
        return False
    if claims.is_superuser and get_settings().superuser_has_all_roles:
        return True
    return _matches(required, effective_roles(claims))


def tier_rank(tier: str | None) -> int:
    """A tier's place in ``TIER_ORDER`` (-1 for no tier or an unknown one)."""
    order = get_settings().tier_order
    return order.index(tier) if tier in order else -1


def has_tier(user: Any, min_tier: str) -> bool:
    """Whether the user's tier is ``min_tier`` or above it in ``TIER_ORDER``.

    Without ``TIER_ORDER``, only that very tier passes. Superusers get no free tier.
    """
    claims = claims_of(user)
    if claims is None or not claims.is_active:
        return False
    order = get_settings().tier_order
    if not order:
        return claims.tier == min_tier
    if min_tier not in order:
        raise ImproperlyConfigured(
            f"Tier {min_tier!r} is not in JWTSESSION['TIER_ORDER'] ({', '.join(order)})."
        )
    return tier_rank(claims.tier) >= order.index(min_tier)


def has_flag(user: Any, flags: str | Iterable[str], *, any: bool | None = None) -> bool:
    """Whether every one of ``flags`` is on for the user (or, for :func:`any_of`, one of them)."""
    required = wanted(flags, any=any)
    claims = claims_of(user)
    if claims is None or not claims.is_active:
        return False
    return _matches(required, claims.flags)
