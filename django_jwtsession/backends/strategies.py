"""The strategies by name: ``"jwt"`` (the cookie is the session) and ``"db"`` (a table)."""

from __future__ import annotations

from ..conf import get_settings
from .storage import Storage
from .table_storage import TableStorage
from .token_storage import TokenStorage

STORAGES: dict[str, type[Storage]] = {"jwt": TokenStorage, "db": TableStorage}


def storage_for(strategy: str | None = None) -> Storage:
    """A new storage of ``strategy`` (default: ``JWTSESSION["STRATEGY"]``)."""
    return STORAGES[strategy or get_settings().strategy]()
