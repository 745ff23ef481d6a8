"""What the home page and ``/whoami/`` tell about the current session (no query)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from django_jwtsession.conf import get_settings
from django_jwtsession.cookies import CHUNK_SIZE, read_session_cookie


def _moment(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


@dataclass(frozen=True)
class SessionFacts:
    """The signed-in session: its public id, cookie size and claims/lifetime timestamps.

    Timestamps are Unix seconds; ``*_in`` / ``*_age`` are seconds from now.
    """

    strategy: str
    id: str | None
    """The session's public id: the hash shown in "my sessions" and the API, never the cookie."""
    token_bytes: int
    """Length of the session cookie's value (its chunks joined)."""
    cookies: int
    """How many cookies carry it (``sessionid``, ``sessionid.1`` … over 3800 bytes)."""
    server_side: bool
    """True for the db strategy: the cookie holds a key, the data is in the database."""
    claims_at: int | None
    claims_age: int | None
    refresh_due_at: int | None
    """``claims_at + CLAIMS_TTL``: the first request after it rebuilds the claims."""
    refresh_in: int | None
    started_at: int | None
    expires_at: int | None
    signed_in_at: int | None = None
    """The last sign-in (re-authentications included): what fresh-login guards read."""
    signed_in_age: int | None = None
    browser_session: bool = False
    """True when the cookie ends with the browser (signed in without "remember me")."""
    idle_timeout: int | None = None
    """``IDLE_TIMEOUT``: seconds without a request that end the session (None: off)."""

    @property
    def signed_in_time(self) -> datetime | None:
        return _moment(self.signed_in_at)

    @property
    def claims_at_time(self) -> datetime | None:
        return _moment(self.claims_at)

    @property
    def refresh_due_time(self) -> datetime | None:
        return _moment(self.refresh_due_at)

    @property
    def started_time(self) -> datetime | None:
        return _moment(self.started_at)

    @property
    def expires_time(self) -> datetime | None:
        return _moment(self.expires_at)


def cookie_count(cookies: dict[str, str]) -> int:
    """How many cookies carried the session: ``sessionid``, then ``sessionid.1`` … while full."""
    name, count = settings.SESSION_COOKIE_NAME, 0
    part = cookies.get(name)
    while part is not None:
        count += 1
        if len(part) != CHUNK_SIZE:
            break
        part = cookies.get(f"{name}.{count}")
    return count


def public_session_id(request: HttpRequest) -> str | None:
    """The session's public id (its hash, as in "my sessions" and the API); None if none."""
    public_id: str | None = getattr(request.session, "public_id", None)
    return public_id


def session_facts(request: HttpRequest) -> SessionFacts | None:
    """Facts about the signed-in session; None when there is none (anonymous)."""
    store: Any = request.session
    claims_at = getattr(store, "claims_at", None)
    if getattr(store, "claims", None) is None or claims_at is None:
        return None
    now = int(time.time())
    token = read_session_cookie(request.COOKIES) or ""
    due = claims_at + get_settings().claims_ttl
    identity = store.identity
    signed_in_at = identity.signed_in_at if identity is not None else None
    return SessionFacts(
        strategy=store.strategy,
        id=public_session_id(request),
        token_bytes=len(token.encode()),
        cookies=cookie_count(request.COOKIES),
        server_side=store.strategy == "db",
        claims_at=claims_at,
        claims_age=max(now - claims_at, 0),
        refresh_due_at=due,
        refresh_in=max(due - now, 0),
        started_at=store.started_at,
        expires_at=now + max(store.get_expiry_age(), 0),
        signed_in_at=signed_in_at,
        signed_in_age=None if signed_in_at is None else max(now - signed_in_at, 0),
        browser_session=store.get_expire_at_browser_close(),
        idle_timeout=get_settings().idle_timeout,
    )
