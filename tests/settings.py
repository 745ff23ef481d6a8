"""Test settings: SQLite by default; PostgreSQL and Redis from ``DATABASE_URL`` / ``REDIS_URL``.

The suite's own app (``tests.testapp``) holds what the tests need. The sandbox's ``demo`` app
is installed for ``tests/test_sandbox.py`` alone (one pytest process has one settings module);
no other test imports it, and the settings variants (``tests/variants/``) leave it out.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any
from urllib.parse import unquote, urlsplit


def database(url: str) -> dict[str, Any]:
    """``sqlite:///path`` (``sqlite://`` for in memory) or ``postgres://user:pw@host:port/name``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": unquote(parts.path[1:]) or ":memory:",
        }
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not sqlite or postgres")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


def cache() -> dict[str, Any]:
    """django-redis on ``REDIS_URL``, else a file cache of this run's own (no server, no SQL)."""
    url = os.environ.get("REDIS_URL")
    if url:
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": tempfile.mkdtemp(prefix="jwtsession-test-cache-"),
    }


SECRET_KEY = "tests-secret-key-4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

CORE_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_jwtsession",
    "tests.testapp",
]
"""What every settings variant installs (a variant adds its user model's app)."""
INSTALLED_APPS = [*CORE_APPS, "demo"]
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
    "TIER_SOURCE": "plan.tier",
    "FLAGS_SOURCE": "plan.flags",
    "DEFAULT_TIER": "free",
    "METRICS_FLUSH_SECONDS": 3600,  # tests flush explicitly: no flush mid-test
    # The pushed mirror answers asynchronously (once its listener is up): the suite counts
    # cache round trips, so it runs without; tests/test_mirror*.py turn it on (the default).
    "MIRROR": os.environ.get("JWTSESSION_TEST_MIRROR") == "1",
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
DATABASES = {"default": database(os.environ.get("DATABASE_URL", "sqlite://"))}
CACHES = {"default": cache()}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
