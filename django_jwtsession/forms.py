"""Sign-in forms that refuse a banned user, or one at their session limit under ``"deny"``,
with a clear form error (:mod:`~django_jwtsession.signin`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .signin import SignInRefused, check_sign_in

if TYPE_CHECKING:
    _Base = AuthenticationForm
else:
    _Base = object


class SignInGateMixin(_Base):
    """Mix into an ``AuthenticationForm`` (before it in the bases): ``confirm_login_allowed()``
    also refuses a banned user, and a user at their ``SESSION_LIMIT`` under ``"deny"``, with a
    form error (codes ``"banned"``, ``"session_limit"``)::

        class AdminLoginForm(SignInGateMixin, AdminAuthenticationForm): ...
    """

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        try:
            check_sign_in(user, getattr(self, "request", None))
        except SignInRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from None


class GatedAuthenticationForm(SignInGateMixin, AuthenticationForm):
    """Django's ``AuthenticationForm`` with the sign-in gate: give it to ``LoginView``
    (``authentication_form=GatedAuthenticationForm``)."""
