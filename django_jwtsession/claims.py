"""Claims: the few hot-path facts about a user carried inside the session token.

``Claims`` is what the token holds; a *provider* builds it from a user. The
default provider reads roles from group names (one query) and the tier and
feature flags from an attribute path (``"subscription.tier"``, fetched with
``select_related`` so it costs no extra query) or a callable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ObjectDoesNotExist
from django.db.models import Model
from django.utils.module_loading import import_string

from .conf import get_settings
from .derived import derived, register_reset

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

ClaimsProvider = Callable[["AbstractBaseUser"], "Claims"]
logger = logging.getLogger("django_jwtsession")


@dataclass(frozen=True)
class Claims:
    """Hot-path facts about the signed-in user (see ``docs/architecture.md``)."""

    user_id: str
    username: str
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)
    tier: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uid": self.user_id,
            "un": self.username,
            "act": self.is_active,
            "stf": self.is_staff,
            "su": self.is_superuser,
            "rol": sorted(self.roles),
            "tir": self.tier,
            "flg": sorted(self.flags),
        }
        if self.extra:
            data["ext"] = self.extra
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Claims:
        """Parse the token form; raise ``ValueError`` on any wrongly typed member."""
        user_id, username, tier = data.get("uid"), data.get("un"), data.get("tir")
        roles, flags, extra = data.get("rol"), data.get("flg"), data.get("ext", {})
        is_active, is_staff, is_superuser = data.get("act"), data.get("stf"), data.get("su")
        if (
            type(user_id) is not str
            or not user_id
            or type(username) is not str
            or "tir" not in data  # written even when None: a token without it is not ours
            or not (tier is None or type(tier) is str)
            or type(is_active) is not bool
            or type(is_staff) is not bool
            or type(is_superuser) is not bool
            or not _is_str_list(roles)
            or not _is_str_list(flags)
            or type(extra) is not dict
        ):
            raise ValueError("malformed claims")
        # Every member is checked above; filling __dict__ directly skips the frozen
        # dataclass __init__ (nine object.__setattr__ calls) on the hot path.
        claims = object.__new__(cls)
        claims.__dict__.update(
            user_id=user_id,
            username=username,
            is_active=is_active,
            is_staff=is_staff,
            is_superuser=is_superuser,
            roles=frozenset(roles),
            tier=tier,
            flags=frozenset(flags),
            extra=extra,
        )
        return claims


def _is_str_list(value: Any) -> TypeGuard[list[str]]:
    return type(value) is list and (not value or set(map(type, value)) == {str})


def user_id_string(user: Model) -> str:
    """The user's primary key as Django stores it in the session."""
    return str(user._meta.pk.value_to_string(user))


def resolve_source(user: Model, source: str | Callable[..., Any] | None) -> Any:
    """Read a claim source: ``None``, a callable ``f(user)`` or a dotted attribute path."""
    if source is None:
        return None
    if callable(source):
        return source(user)
    value: Any = user
    try:
        for name in source.split("."):
            value = getattr(value, name)
            if value is None:
                return None
    except ObjectDoesNotExist:
        return None
    return value() if callable(value) else value


_reported: set[tuple[str, str]] = set()
register_reset(_reported.clear)


def read_source(user: Model, key: str, source: str | Callable[..., Any] | None) -> Any:
    """A claim source's value for ``user``, None when missing: a sign-in never fails over it.

    A missing related object is None (``DEFAULT_TIER`` applies); so is a path the model
    does not have at all (check ``jwtsession.E016`` names it), reported once per process.
    """
    try:
        return resolve_source(user, source)
    except AttributeError as exc:
        if not isinstance(source, str):
            raise  # a callable's own error: not ours to hide
        if (key, source) not in _reported:
            _reported.add((key, source))
            logger.error(
                "jwtsession: JWTSESSION[%r] = %r cannot be read (%s): the claim is left "
                "empty, DEFAULT_TIER applies (see check jwtsession.E016)",
                key,
                source,
                exc,
            )
        return None


def _roles(user: Model, source: str | Callable[..., Any] | None) -> Iterable[str]:
    if source == "groups":
        return user.groups.values_list("name", flat=True)  # type: ignore[attr-defined,no-any-return]
    return read_source(user, "ROLES_SOURCE", source) or ()


def default_provider(user: AbstractBaseUser) -> Claims:
    """Build claims: roles from group names, tier and flags from the configured sources."""
    conf = get_settings()
    tier = read_source(user, "TIER_SOURCE", conf.tier_source)
    return Claims(
        user_id=user_id_string(user),
        username=str(user.get_username()),
        is_active=bool(getattr(user, "is_active", True)),
        is_staff=bool(getattr(user, "is_staff", False)),
        is_superuser=bool(getattr(user, "is_superuser", False)),
        roles=frozenset(str(role) for role in _roles(user, conf.roles_source)),
        tier=str(tier) if tier is not None else conf.default_tier,
        flags=frozenset(
            str(flag) for flag in read_source(user, "FLAGS_SOURCE", conf.flags_source) or ()
        ),
    )


@derived
def get_provider() -> ClaimsProvider:
    """The configured ``CLAIMS_PROVIDER`` (an import string or a callable)."""
    provider = get_settings().claims_provider
    if callable(provider):
        return provider
    try:
        return import_string(provider)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"JWTSESSION['CLAIMS_PROVIDER'] = {provider!r} could not be imported: {exc}"
        ) from exc


@derived
def related_paths() -> tuple[str, ...]:
    """Relations on the claim source paths, to ``select_related`` with the user."""
    conf = get_settings()
    paths = []
    for source in (conf.tier_source, conf.flags_source, conf.roles_source):
        if not isinstance(source, str) or "." not in source:
            continue
        model: Any = get_user_model()
        names = source.split(".")[:-1]
        valid = []
        for name in names:
            try:
                relation = model._meta.get_field(name)
            except FieldDoesNotExist:
                break
            if not (relation.is_relation and (relation.one_to_one or relation.many_to_one)):
                break
            valid.append(name)
            model = relation.related_model
        if valid:
            paths.append("__".join(valid))
    return tuple(dict.fromkeys(paths))


def build_claims(user: AbstractBaseUser) -> Claims:
    """Run the provider; a provider may return a ``Claims`` or its dict form."""
    claims = get_provider()(user)
    if isinstance(claims, dict):
        claims = Claims.from_dict(claims)
    if not isinstance(claims, Claims):
        raise ImproperlyConfigured("JWTSESSION['CLAIMS_PROVIDER'] must return a Claims instance.")
    return claims
