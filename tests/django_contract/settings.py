"""Settings for the contract run: Django's runtests.py settings, our stores swapped in.

Read from the environment the runner sets: ``JWTSESSION_CONTRACT_STORE`` (``jwt`` or
``db``), ``JWTSESSION_CONTRACT_USE_TZ`` (``1`` or ``0``), ``JWTSESSION_CONTRACT_UPSTREAM``
(the extracted upstream tests, already on ``sys.path``) and
``JWTSESSION_CONTRACT_BASELINE`` (``1``: Django's own engine and middleware, to tell the
harness's failures from ours). SQLite in memory
and a file cache by default; PostgreSQL and Redis from ``DATABASE_URL`` / ``REDIS_URL``,
as in ``tests/settings.py``.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

from django.utils.log import DEFAULT_LOGGING

from tests.django_contract import ENGINES
from tests.settings import database

STORE = os.environ.get("JWTSESSION_CONTRACT_STORE", "jwt")
UPSTREAM = Path(os.environ.get("JWTSESSION_CONTRACT_UPSTREAM", "."))
BASELINE = os.environ.get("JWTSESSION_CONTRACT_BASELINE") == "1"
"""Django's own db engine and middleware (to tell our failures from the harness's)."""
CONTRACT_SCRATCH_DIR = Path(
    tempfile.mkdtemp(prefix="jwtsession-contract-")
)  # removed by the runner

# tests/test_sqlite.py
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = os.environ.get("JWTSESSION_CONTRACT_USE_TZ", "0") == "1"

_url = os.environ.get("DATABASE_URL")
DATABASES = {
    alias: {
        **(database(_url) if _url else {"ENGINE": "django.db.backends.sqlite3"}),
        # Never the name the main test run (or another contract run) uses.
        "TEST": {"NAME": f"test_jwtsession_contract_{STORE}_{int(USE_TZ)}_{alias}"} if _url else {},
    }
    for alias in ("default", "other")
}

# tests/runtests.py: setup_collect_tests(), with our middleware and app
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sites",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.staticfiles",
    *([] if BASELINE else ["django_jwtsession"]),
    "sessions_tests",
    "auth_tests",
]
_SESSION_MIDDLEWARE, _AUTH_MIDDLEWARE = (
    ("django.contrib.sessions.middleware", "django.contrib.auth.middleware")
    if BASELINE
    else ("django_jwtsession.middleware", "django_jwtsession.middleware")
)
MIDDLEWARE = [
    f"{_SESSION_MIDDLEWARE}.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    f"{_AUTH_MIDDLEWARE}.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.db" if BASELINE else ENGINES[STORE]
JWTSESSION = {"STRATEGY": STORE}
_REDIS_URL = os.environ.get("REDIS_URL")
CACHES = {
    "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": _REDIS_URL}
    if _REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(CONTRACT_SCRATCH_DIR / "cache"),
    }
}
ROOT_URLCONF = "tests.django_contract.urls"
STATIC_URL = "static/"
STATIC_ROOT = str(CONTRACT_SCRATCH_DIR / "static")
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(UPSTREAM / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
LANGUAGE_CODE = "en"
SITE_ID = 1
MIGRATION_MODULES = {"auth": None, "contenttypes": None, "sessions": None}
LOGGING = copy.deepcopy(DEFAULT_LOGGING)
LOGGING["loggers"]["django"]["level"] = "ERROR"
SILENCED_SYSTEM_CHECKS = ["fields.W342"]
