"""Settings from the environment: ``DATABASE_URL`` and ``REDIS_URL`` (shared with the tests)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
}


def database_from_url(url: str) -> dict[str, Any]:
    """``sqlite:///path`` or ``postgres://user:password@host:port/name`` as a DATABASES entry."""
    parts = urlsplit(url)
    engine = _ENGINES.get(parts.scheme)
    if engine is None:
        raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not one of {sorted(_ENGINES)}")
    if parts.scheme == "sqlite":
        return {"ENGINE": engine, "NAME": unquote(parts.path[1:]) or ":memory:"}
    return {
        "ENGINE": engine,
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


def database(default_sqlite_path: Path) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        return database_from_url(url)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite_path)}


def cache(directory: Path) -> dict[str, Any]:
    """django-redis on ``REDIS_URL``, else a file-based cache in ``directory``.

    The file cache needs no server, is shared by every process on the machine and,
    unlike Django's database cache, costs no SQL query.
    """
    url = os.environ.get("REDIS_URL")
    if url:
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(directory),
    }


def checkout_secret_key(path: Path) -> str:
    """This checkout's own random SECRET_KEY, made on first use and kept (git-ignored) so
    that restarting the sandbox keeps everyone signed in; never a key published anywhere."""
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) < 50:
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n", encoding="ascii")
        path.chmod(0o600)
    return key
