"""One Django settings module for every benchmarked stack.

``BENCH_DB`` selects the backing services: ``sqlite`` (a temporary SQLite file
and a local-memory cache) or ``postgres`` (``DATABASE_URL`` with the database
name replaced by ``jwtsession_bench``, and django-redis on ``REDIS_URL``).
Each stack then changes ``MIDDLEWARE``, ``SESSION_ENGINE`` and ``JWTSESSION``
with ``override_settings`` (see ``bench/stacks.py``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

BENCH_DATABASE_NAME = "jwtsession_bench"
DEFAULT_DATABASE_URL = "postgres://jwtsession:jwtsession@127.0.0.1:5432/jwtsession"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
CACHE_KEY_PREFIX = "jwtsession-bench"


def postgres_database(url: str, name: str) -> dict[str, Any]:
    """A PostgreSQL ``DATABASES`` entry from ``url``, for database ``name``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": None,  # persistent: the db stacks' best case, as in production
    }


BENCH_DB = os.environ.get("BENCH_DB", "sqlite")

SECRET_KEY = "bench-secret-key-9c1e5a7b3d2f8e4a6c0b1d9f7e3a5c2b8d4f6a0e1c3b5d7f"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]  # 127.0.0.1: the HTTP benchmarks
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "bench.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "django_jwtsession",
]
MIDDLEWARE: list[str] = []
TEMPLATES: list[dict[str, Any]] = []

if BENCH_DB == "postgres":
    DATABASES = {
        "default": postgres_database(
            os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), BENCH_DATABASE_NAME
        )
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["BENCH_SQLITE_PATH"],
            "CONN_MAX_AGE": None,
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_ENGINE = "django_jwtsession.backends.jwt"
JWTSESSION: dict[str, Any] = {}
SIMPLE_JWT = {"ALGORITHM": "HS256", "USER_ID_CLAIM": "user_id"}
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
