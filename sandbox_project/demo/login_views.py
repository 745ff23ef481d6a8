"""The sandbox's login page: Django's ``LoginView`` with a "remember me" checkbox.

Ticked, the session cookie lasts its normal lifetime (``SESSION_COOKIE_AGE``, sliding while
used); unticked, it is a browser-session cookie (``set_expiry(0)``: it ends when the browser
closes). Either way ``MAX_LIFETIME`` still caps the session, and ``IDLE_TIMEOUT`` ends it
when unused. A banned user, or one at the session limit under ``"deny"``, is refused
with a form error (``SignInGateMixin``). Signing in again while signed in (a fresh-login
guard sent you here) keeps the session and stamps the new sign-in.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse

from django_jwtsession import SignInGateMixin


class RememberMeAuthenticationForm(SignInGateMixin, AuthenticationForm):
    """Refuses a banned user, or one at the session limit under "deny", with a form error."""

    remember = forms.BooleanField(
        required=False,
        label="Remember me",
        help_text="Unticked, you are signed out when you close the browser.",
    )


class LoginView(auth_views.LoginView):
    form_class = RememberMeAuthenticationForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)  # login(): the session is this user's now
        remembered = form.cleaned_data.get("remember", False)
        self.request.session.set_expiry(None if remembered else 0)  # 0: a browser session
        return response
