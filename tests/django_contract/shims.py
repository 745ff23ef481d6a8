"""Django's ``Session`` model, re-expressed through our stores.

Upstream tests that read Django's own ``Session`` table (``Session.objects.get(...)``,
``self.model.objects.count()``, ``get_decoded()``) get one of these in its place: the
db store's sessions are rows of ``SessionRecord``; the jwt store's session is the token
itself, read back through a fresh store.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from django_jwtsession.backends import db, db_keys, jwt
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord


class SessionDoesNotExist(ObjectDoesNotExist):
    """``Session.DoesNotExist``: no live session under that key."""


class StoredSession:
    """What ``Session.objects.get()`` returns: the key, the data, the expiry."""

    def __init__(self, session_key: str, data: dict[str, Any], expire_date: datetime) -> None:
        self.session_key = session_key
        self.expire_date = expire_date
        self._data = data

    def get_decoded(self) -> dict[str, Any]:
        return self._data

    def __str__(self) -> str:
        return self.session_key


class RecordManager:
    """``Session.objects`` for the db store: the live (unrevoked) rows it keeps."""

    def _rows(self) -> QuerySet[SessionRecord]:
        return SessionRecord.objects.filter(strategy="db", revoked_at=None)

    def get(self, *, session_key: str) -> StoredSession:
        secret = session_key.split(".")[1] if session_key.startswith(db_keys.KEY_PREFIX) else ""
        hashed = session_hash(db_keys.session_id_for(secret))
        try:
            row = self._rows().get(session_hash=hashed)
        except SessionRecord.DoesNotExist:
            raise SessionDoesNotExist(session_key) from None
        return StoredSession(session_key, json.loads(row.data), row.expires)

    def count(self) -> int:
        return self._rows().count()

    async def acount(self) -> int:
        return await sync_to_async(self.count)()

    def save(self, session_key: str, session_dict: dict[str, Any], expire_date: datetime) -> None:
        """``SessionManager.save()``: replace a session's data from another context (here
        through a second store on the same key; the expiry stays the store's own)."""
        store = db.SessionStore(session_key)
        if not session_dict:
            store.delete()
            return
        for key in list(store.keys()):  # loads it: the same session, its data replaced
            del store[key]
        store.update(session_dict)
        store.save()


class RecordSessions:
    """Stands in for ``django.contrib.sessions.models.Session`` with the db store."""

    DoesNotExist = SessionDoesNotExist
    objects = RecordManager()


class TokenManager:
    """``Session.objects`` for the jwt store: the token is the session; a fresh store
    reads it back (an invalid, expired or revoked one does not exist)."""

    def get(self, *, session_key: str) -> StoredSession:
        store = jwt.SessionStore(session_key)
        data = store.load()
        if store.session_key is None:
            raise SessionDoesNotExist(session_key)
        return StoredSession(session_key, data, store.get_expiry_date())


class TokenSessions:
    """Stands in for ``django.contrib.sessions.models.Session`` with the jwt store."""

    DoesNotExist = SessionDoesNotExist
    objects = TokenManager()
