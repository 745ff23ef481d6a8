"""Django sessions in a signed, optionally encrypted token cookie.

The public API is this package's root (``docs/api.md``)::

    from django_jwtsession import any_of, revoke_session, role_required

Each name is imported on first use (PEP 562), so ``import django_jwtsession`` stays cheap
and safe before Django's apps are ready: only using a name needs what that name needs.
Everything else in the package is internal and may change without notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

_EXPORTS = {
    # marks and revocation
    "mark_for_refresh": "revocation",
    "revoke_session": "revocation",
    "revoke_sessions": "revocation",
    "revoke_user": "revocation",
    "revoke_all": "revocation",
    "EndReason": "end_reasons",
    # bans and the sign-in gate
    "ban_user": "bans",
    "unban_user": "bans",
    "banned_until": "bans",
    "check_sign_in": "signin",
    "SignInRefused": "signin",
    "SignInGateMixin": "forms",
    "GatedAuthenticationForm": "forms",
    # impersonation
    "start_impersonation": "impersonation",
    "stop_impersonation": "impersonation",
    "impersonator_id": "impersonation",
    "ImpersonationRefused": "impersonation_rules",
    # guards: decorators, mixins, checks
    "any_of": "access",
    "has_role": "access",
    "has_tier": "access",
    "has_flag": "access",
    "role_required": "decorators",
    "subscription_required": "decorators",
    "feature_required": "decorators",
    "claims_passes_test": "decorators",
    "fresh_login_required": "decorators",
    "RoleRequiredMixin": "mixins",
    "SubscriptionRequiredMixin": "mixins",
    "FeatureRequiredMixin": "mixins",
    "FreshLoginRequiredMixin": "mixins",
    # claims
    "Claims": "claims",
    "claims_of": "access",
    # signals
    "claims_refreshed": "signals",
    "session_revoked": "signals",
    "user_marked": "signals",
    "session_ended": "signals",
    "impersonation_started": "signals",
    "impersonation_ended": "signals",
}

__all__ = [
    "Claims",
    "EndReason",
    "FeatureRequiredMixin",
    "FreshLoginRequiredMixin",
    "GatedAuthenticationForm",
    "ImpersonationRefused",
    "RoleRequiredMixin",
    "SignInGateMixin",
    "SignInRefused",
    "SubscriptionRequiredMixin",
    "__version__",
    "any_of",
    "ban_user",
    "banned_until",
    "check_sign_in",
    "claims_of",
    "claims_passes_test",
    "claims_refreshed",
    "feature_required",
    "fresh_login_required",
    "has_flag",
    "has_role",
    "has_tier",
    "impersonation_ended",
    "impersonation_started",
    "impersonator_id",
    "mark_for_refresh",
    "revoke_all",
    "revoke_session",
    "revoke_sessions",
    "revoke_user",
    "role_required",
    "session_ended",
    "session_revoked",
    "start_impersonation",
    "stop_impersonation",
    "subscription_required",
    "unban_user",
    "user_marked",
]

if TYPE_CHECKING:
    from .access import any_of, claims_of, has_flag, has_role, has_tier
    from .bans import ban_user, banned_until, unban_user
    from .claims import Claims
    from .decorators import (
        claims_passes_test,
        feature_required,
        fresh_login_required,
        role_required,
        subscription_required,
    )
    from .end_reasons import EndReason
    from .forms import GatedAuthenticationForm, SignInGateMixin
    from .impersonation import impersonator_id, start_impersonation, stop_impersonation
    from .impersonation_rules import ImpersonationRefused
    from .mixins import (
        FeatureRequiredMixin,
        FreshLoginRequiredMixin,
        RoleRequiredMixin,
        SubscriptionRequiredMixin,
    )
    from .revocation import (
        mark_for_refresh,
        revoke_all,
        revoke_session,
        revoke_sessions,
        revoke_user,
    )
    from .signals import (
        claims_refreshed,
        impersonation_ended,
        impersonation_started,
        session_ended,
        session_revoked,
        user_marked,
    )
    from .signin import SignInRefused, check_sign_in


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
