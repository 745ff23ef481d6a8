"""Test settings: SQLite by default; PostgreSQL and Redis from ``DATABASE_URL`` / ``REDIS_URL``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sandbox.env import cache, database_from_url

SECRET_KEY = "tests-secret-key-4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

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
    "tests.testapp",
]
MIDDLEWARE = [
    "django_jwtsession.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django_jwtsession.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_ENGINE = "django_jwtsession.backends.session"
JWTSESSION = {
    "STRATEGY": os.environ.get("JWTSESSION_TEST_STRATEGY", "jwt"),
    "TIER_SOURCE": "subscription.tier",
    "FLAGS_SOURCE": "subscription.flags",
    "DEFAULT_TIER": "free",
    "METRICS_FLUSH_SECONDS": 3600,  # tests flush explicitly: no flush mid-test
}
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///:memory:")),
}
CACHES = {"default": cache(Path(tempfile.mkdtemp(prefix="jwtsession-test-cache-")))}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
