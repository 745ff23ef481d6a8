"""Django Channels: ``scope["user"]`` from the session cookie, and open sockets re-checked.

Use it where Channels' ``AuthMiddlewareStack`` would go (the ``channels`` extra)::

    from django_jwtsession.contrib.channels import JWTSessionAuthMiddlewareStack

    application = ProtocolTypeRouter({
        "http": get_asgi_application(),
        "websocket": JWTSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    })

At connect the session cookie (chunks joined) is read as an HTTP request reads it:
verified, then the one-round-trip state check, so a revoked session connects
anonymous and a marked one has its claims rebuilt. ``scope["user"]`` answers from
the claims with no query; ``scope["session"]`` is the store.

A websocket stays open for hours; the session may be revoked meanwhile. Its session
is read again when a message crosses the socket (either way) ``recheck_seconds``
after the last read: a session that ended closes the socket with code ``4401``
(``1013`` when the state could not be checked: try again later) and the message is
dropped; claims rebuilt meanwhile replace ``scope["user"]``. ``recheck_seconds=0``
reads it for every message. docs/deployment.md says why and what it costs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError
from django.core.exceptions import ImproperlyConfigured
from django.http.cookie import parse_cookie

from ..backends.base import ClaimsSessionBase
from ..cookies import read_session_cookie
from ..middleware import user_from_session

try:
    from channels.db import database_sync_to_async
except ImportError as exc:  # the extra is missing: say which
    raise ImproperlyConfigured(
        "django_jwtsession.contrib.channels needs Django Channels: "
        'pip install "django-jwtsession[channels]"'
    ) from exc

Scope = MutableMapping[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RECHECK_SECONDS = 30.0
"""The default bound: a message crosses an open socket at most this long after its
session was last read (docs/deployment.md)."""
CLOSE_ENDED = 4401
"""Close code: the session ended (revoked, expired, signed out, its user gone)."""
CLOSE_UNAVAILABLE = 1013
"""Close code ("try again later"): the state check could not run (cache and database)."""


def session_store_class() -> type[ClaimsSessionBase]:
    """``SESSION_ENGINE``'s store, which must be one of this package's."""
    store: type[Any] = import_module(settings.SESSION_ENGINE).SessionStore
    if not issubclass(store, ClaimsSessionBase):
        raise ImproperlyConfigured(
            f"JWTSessionAuthMiddleware needs a django_jwtsession session engine; "
            f"SESSION_ENGINE is {settings.SESSION_ENGINE!r}."
        )
    return store


def scope_cookies(scope: Scope) -> Mapping[str, str]:
    """The connection's cookies: Channels' ``CookieMiddleware``'s, or from its headers."""
    cookies: Mapping[str, str] | None = scope.get("cookies")
    if cookies is not None:
        return cookies
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


def scope_meta(scope: Scope) -> dict[str, Any]:
    """What Django's ``request.META`` would hold for the connection's client: the address
    and the headers (``HTTP_USER_AGENT``, ``HTTP_X_FORWARDED_FOR``…), for session records."""
    meta: dict[str, Any] = {}
    client = scope.get("client")
    if client:
        meta["REMOTE_ADDR"] = client[0]
    for name, value in scope.get("headers", ()):
        header = "HTTP_" + name.decode("latin1").upper().replace("-", "_")
        text = value.decode("latin1")
        meta[header] = f"{meta[header]},{text}" if header in meta else text
    return meta


def open_session(
    key: str | None, client_meta: Mapping[str, Any] | None = None
) -> tuple[ClaimsSessionBase, Any, str | None]:
    """Read the session of ``key`` as a request would: ``(store, user, key to read next)``.

    ``user`` is resolved (claims, or Django's ``AnonymousUser``). Claims rebuilt by the
    read (marked, or past ``CLAIMS_TTL``) are saved, so the next read finds them fresh:
    the jwt strategy's new token is kept here (a socket cannot set a cookie), the db
    strategy's row is updated. Reading never moves the session to a new id: after a
    ``SECRET_KEY`` rotation, its hash upgrade and new id wait for the browser's next
    request (nothing is saved until then); a session taken over from another engine is
    not saved either. Both would end the browser's own cookie.
    """
    store = session_store_class()(key)
    store.client_meta = client_meta  # the record's IP and user agent, when saved
    store.can_move = False  # a socket cannot hand the browser a new cookie
    user = user_from_session(store)
    if not user.is_authenticated:  # reads the session: verify, the state check
        return store, user, None
    if store.refresh_reason not in (None, "key") and store.session_key == key:
        try:
            store.save()
        except UpdateError:  # deleted meanwhile: over
            return store, _anonymous(), None
        if store.ended_on_save or SESSION_KEY not in store:  # revoked meanwhile
            return store, _anonymous(), None
    return store, user, store.session_key


def _anonymous() -> Any:
    from django.contrib.auth.models import AnonymousUser  # needs the app registry

    return AnonymousUser()


_open_session = database_sync_to_async(open_session)


class _Guard:
    """One open socket's session: read again when a message crosses it after the bound."""

    def __init__(
        self, scope: Scope, key: str, user_id: Any, every: float, meta: dict[str, Any]
    ) -> None:
        self.scope, self.key, self.user_id, self.every = scope, key, user_id, every
        self.meta = meta
        self.due = time.monotonic() + every
        self.close_code: int | None = None
        self.closed = False
        self.lock = asyncio.Lock()

    async def holds(self) -> bool:
        """True while the session goes on; False once the socket must close."""
        if self.close_code is None and time.monotonic() >= self.due:
            async with self.lock:  # one read at a time; the others wait for its answer
                if self.close_code is None and time.monotonic() >= self.due:
                    await self._read_again()
        return self.close_code is None

    async def _read_again(self) -> None:
        store, user, key = await _open_session(self.key, self.meta)
        if key is None or user.pk != self.user_id:
            self.close_code = CLOSE_UNAVAILABLE if store.suspended else CLOSE_ENDED
            return
        if store.refresh_reason is not None:  # new claims: the consumer sees them
            self.scope["session"], self.scope["user"] = store, user
        self.key = key
        self.due = time.monotonic() + self.every


class JWTSessionAuthMiddleware:
    """ASGI middleware: ``scope["session"]`` and ``scope["user"]`` from the session cookie;
    on websockets, the session read again ``recheck_seconds`` after the last read."""

    def __init__(self, inner: ASGIApp, recheck_seconds: float = RECHECK_SECONDS) -> None:
        if recheck_seconds < 0:
            raise ImproperlyConfigured("recheck_seconds must be 0 or more.")
        self.inner = inner
        self.recheck_seconds = recheck_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.inner(scope, receive, send)
            return
        key = read_session_cookie(scope_cookies(scope))
        meta = scope_meta(scope)
        store, user, current = await _open_session(key, meta)
        scope = dict(scope, session=store, user=user)
        if scope["type"] != "websocket" or current is None:
            await self.inner(scope, receive, send)
            return
        guard = _Guard(scope, current, user.pk, self.recheck_seconds, meta)
        await self.inner(scope, _guarded_receive(guard, receive, send), _guarded_send(guard, send))


async def _close(guard: _Guard, send: Send) -> None:
    if not guard.closed:
        guard.closed = True
        await send({"type": "websocket.close", "code": guard.close_code})


def _guarded_receive(guard: _Guard, receive: Receive, send: Send) -> Receive:
    async def guarded() -> Message:
        message = await receive()
        if message["type"] == "websocket.receive" and not await guard.holds():
            await _close(guard, send)
            return {"type": "websocket.disconnect", "code": guard.close_code}
        return message

    return guarded


def _guarded_send(guard: _Guard, send: Send) -> Send:
    async def guarded(message: Message) -> None:
        if message["type"] == "websocket.send" and not await guard.holds():
            await _close(guard, send)
            return  # dropped: the session is over
        if guard.closed:
            return  # closed for the session: nothing more goes out
        await send(message)

    return guarded


def JWTSessionAuthMiddlewareStack(
    inner: ASGIApp, recheck_seconds: float = RECHECK_SECONDS
) -> JWTSessionAuthMiddleware:
    """Channels' ``AuthMiddlewareStack`` for this package: one middleware reads the
    cookie, the session and the user."""
    return JWTSessionAuthMiddleware(inner, recheck_seconds)
