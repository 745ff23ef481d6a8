"""Sandbox settings: SQLite and no other server by default (see ``shared`` SANDBOX contract)."""

from __future__ import annotations

import os
from pathlib import Path

from sandbox.env import cache, checkout_secret_key, database

BASE_DIR = Path(__file__).resolve().parent.parent
STRATEGY = os.environ.get("JWTSESSION_STRATEGY", "jwt")
if STRATEGY not in ("jwt", "db"):
    raise SystemExit(f"JWTSESSION_STRATEGY must be 'jwt' or 'db', not {STRATEGY!r}")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or checkout_secret_key(BASE_DIR / ".secret_key")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_jwtsession",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_jwtsession.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django_jwtsession.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# One engine for both strategies: JWTSESSION["STRATEGY"] picks one. Sessions of the
# other strategy are taken over (ACCEPT_FROM), so restarting the sandbox with the other
# JWTSESSION_STRATEGY keeps everyone signed in.
SESSION_ENGINE = "django_jwtsession.backends.session"
DEFAULT_EXCEPTION_REPORTER_FILTER = "django_jwtsession.debug.SafeExceptionReporterFilter"
JWTSESSION = {
    "STRATEGY": STRATEGY,
    "ACCEPT_FROM": ["db" if STRATEGY == "jwt" else "jwt"],
    "TIER_SOURCE": "subscription.tier",
    "FLAGS_SOURCE": "subscription.flags",
    "DEFAULT_TIER": "free",
    "MARK_MODELS": {"demo.Subscription": "user"},
    "ROLE_HIERARCHY": {"admin": ["editor"]},  # an admin passes every editor check
    "TIER_ORDER": ["free", "pro", "enterprise"],  # demo.models.TIERS, lowest first
    "IDLE_TIMEOUT": 30 * 60,  # 30 minutes without a request sign you out
    # Two sessions each (admins five): a third sign-in ends the oldest (docs/session-limits.md).
    "SESSION_LIMIT": {"default": 2, "roles": {"admin": 5}},
}

ROOT_URLCONF = "sandbox.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "sandbox.wsgi.application"
ASGI_APPLICATION = "sandbox.asgi.application"

DATABASES = {"default": database(BASE_DIR / "db.sqlite3")}
CACHES = {"default": cache(BASE_DIR / ".cache")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/whoami/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
