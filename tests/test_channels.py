"""Django Channels (``django_jwtsession.contrib.channels``), driven by Channels' own
``WebsocketCommunicator`` against the real application, database and cache.

Each test runs one event loop (``async_to_sync``); the database work the test does itself
goes through ``sync_to_async``, on the test's thread and connection, as the middleware's does.
The tests are transactional: Channels' ``database_sync_to_async`` closes a connection left in
a transaction, as Django's request handling does.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_jwtsession.contrib.channels import (
    CLOSE_ENDED,
    CLOSE_UNAVAILABLE,
    RECHECK_SECONDS,
    JWTSessionAuthMiddleware,
    JWTSessionAuthMiddlewareStack,
)
from django_jwtsession.cookies import CHUNK_SIZE
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord
from django_jwtsession.revocation import revoke_session, revoke_user
from tests.helpers import (
    Configure,
    add_dead_cache,
    client_session_id,
    set_roles,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("strategy")]


def who(user: Any) -> dict[str, Any]:
    """What the claims say about ``user`` (no query for a claims user)."""
    if not user.is_authenticated:
        return {"authenticated": False}
    return {"authenticated": True, "username": user.get_username(), "roles": sorted(user.roles)}


class WhoAmI(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Says who is connected, at connect and for each message (read from the scope each time)."""

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(who(self.scope["user"]))

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(who(self.scope["user"]))


class Feed(WhoAmI):
    """Also sends what is pushed to the group "feed" through the channel layer."""

    groups = ["feed"]

    async def feed_item(self, event: dict[str, Any]) -> None:
        await self.send_json({"item": event["text"]})


class WhoAmIHttp(AsyncHttpConsumer):  # type: ignore[misc]
    async def handle(self, body: bytes) -> None:
        await self.send_response(200, json.dumps(who(self.scope["user"])).encode())


def application(
    recheck_seconds: float = RECHECK_SECONDS, consumer: Any = WhoAmI
) -> JWTSessionAuthMiddleware:
    return JWTSessionAuthMiddlewareStack(consumer.as_asgi(), recheck_seconds=recheck_seconds)


def cookie_header(client: Client) -> list[tuple[bytes, bytes]]:
    value = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    return [(b"cookie", value.encode("latin1"))]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run ``scenario`` in one event loop, its sync calls on this thread."""
    async_to_sync(scenario)()


@pytest.fixture
def queries() -> Iterator[CaptureQueriesContext]:
    """Queries on this thread's connection (``connection`` would follow the reading thread)."""
    with CaptureQueriesContext(connections["default"]) as captured:
        yield captured


@pytest.fixture
def feed(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


async def push(text: str) -> None:
    await get_channel_layer().group_send("feed", {"type": "feed.item", "text": text})


BOB = {"authenticated": True, "username": "bob", "roles": ["editor"]}
ANONYMOUS = {"authenticated": False}


# -- at connect ------------------------------------------------------------------------------------


def test_connect_with_the_session_cookie_gives_the_user_with_no_sql(
    bob_client: Client, queries: CaptureQueriesContext, cache_calls: list[str]
) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application(), "/ws/", headers=cookie_header(bob_client))
        before = len(queries)
        assert (await socket.connect())[0]
        assert await socket.receive_json_from() == BOB
        assert len(queries) == before  # claims answer: no query at connect
        assert cache_calls == ["get_many"]  # the one-round-trip state check
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "cookie", [b"", b"sessionid=garbage", b"sessionid=a.b.c", b"sessionid=" + b"x" * 9000]
)
def test_no_or_a_bad_cookie_connects_anonymous(cookie: bytes) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application(), "/ws/", headers=[(b"cookie", cookie)])
        assert (await socket.connect())[0]
        assert await socket.receive_json_from() == ANONYMOUS
        await socket.send_json_to({})  # anonymous: nothing to re-check, nothing closes
        assert await socket.receive_json_from() == ANONYMOUS
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize("scope", ["session", "user"])
def test_revoked_the_next_connect_is_anonymous(bob_client: Client, bob: Any, scope: str) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application(), "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await socket.disconnect()
        if scope == "session":
            await sync_to_async(revoke_session)(session_hash(client_session_id(bob_client)))
        else:
            await sync_to_async(revoke_user)(bob)
        again = WebsocketCommunicator(application(), "/ws/", headers=cookie_header(bob_client))
        await again.connect()
        assert await again.receive_json_from() == ANONYMOUS
        await again.disconnect()

    run(scenario)
    assert bob_client.get("/whoami/").json()["authenticated"] is False  # and over HTTP


def test_a_mark_is_seen_at_the_next_connect(
    bob_client: Client, bob: Any, queries: CaptureQueriesContext
) -> None:
    async def scenario() -> None:
        await sync_to_async(set_roles)(bob, ("admin",))  # marks bob's claims stale
        socket = WebsocketCommunicator(application(0), "/ws/", headers=cookie_header(bob_client))
        start = len(queries)
        await socket.connect()
        assert await socket.receive_json_from() == {**BOB, "roles": ["admin"]}
        assert len(queries) > start  # the claims were rebuilt from the database
        # The rebuilt claims are kept for the socket: its next read is fresh, no query.
        before = len(queries)
        await socket.send_json_to({})
        assert await socket.receive_json_from() == {**BOB, "roles": ["admin"]}
        assert len(queries) == before
        await socket.disconnect()

    run(scenario)
    # The browser's own cookie is untouched: its next request rebuilds its claims itself.
    assert bob_client.get("/whoami/").json()["roles"] == ["admin"]


@pytest.mark.strategies("jwt")
def test_a_chunked_session_cookie_is_joined(bob_client: Client) -> None:
    session = bob_client.session
    session["blob"] = "x" * 5000  # over one cookie chunk once encoded
    session.save()
    token, name = session.session_key, django_settings.SESSION_COOKIE_NAME
    assert CHUNK_SIZE < len(token) <= 2 * CHUNK_SIZE
    bob_client.cookies[name] = token[:CHUNK_SIZE]  # as the middleware splits it
    bob_client.cookies[f"{name}.1"] = token[CHUNK_SIZE:]

    async def scenario() -> None:
        socket = WebsocketCommunicator(application(), "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await socket.disconnect()

    run(scenario)


def test_http_consumers_get_the_user_too(bob_client: Client) -> None:
    async def scenario() -> None:
        app = JWTSessionAuthMiddlewareStack(WhoAmIHttp.as_asgi())
        response = await HttpCommunicator(
            app, "GET", "/who/", headers=cookie_header(bob_client)
        ).get_response()
        assert response["status"] == 200
        assert (
            response["body"] == b'{"authenticated": true, "username": "bob", "roles": ["editor"]}'
        )

    run(scenario)


# -- open sockets: the session read again ---------------------------------------------------------


def test_revoked_while_open_the_next_message_closes_the_socket(bob_client: Client) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application(0), "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await socket.send_json_to({})
        assert await socket.receive_json_from() == BOB
        await sync_to_async(revoke_session)(session_hash(client_session_id(bob_client)))
        await socket.send_json_to({})
        assert await socket.receive_output() == {"type": "websocket.close", "code": CLOSE_ENDED}
        assert await socket.receive_nothing()  # the consumer saw a disconnect and sent nothing
        await socket.wait()

    run(scenario)


def test_revoked_while_open_a_pushed_message_is_dropped_and_the_socket_closed(
    bob_client: Client, bob: Any, feed: None
) -> None:
    async def scenario() -> None:
        app = application(0, consumer=Feed)
        socket = WebsocketCommunicator(app, "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await push("before")
        assert await socket.receive_json_from() == {"item": "before"}
        await sync_to_async(revoke_user)(bob)
        await push("after")
        assert await socket.receive_output() == {"type": "websocket.close", "code": CLOSE_ENDED}
        await push("later")
        assert await socket.receive_nothing()
        await socket.disconnect()

    run(scenario)


def test_within_the_bound_messages_pass_without_a_state_check(
    bob_client: Client, cache_calls: list[str], queries: CaptureQueriesContext
) -> None:
    async def scenario() -> None:
        app = application(recheck_seconds=3600)
        socket = WebsocketCommunicator(app, "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        assert cache_calls == ["get_many"]
        await sync_to_async(revoke_session)(session_hash(client_session_id(bob_client)))
        cache_calls.clear()
        before = len(queries)
        for _ in range(3):
            await socket.send_json_to({})
            assert await socket.receive_json_from() == BOB  # until the bound: the price of it
        assert cache_calls == []
        assert len(queries) == before
        await socket.disconnect()

    run(scenario)


def test_after_the_bound_the_next_message_reads_the_session_again(
    bob_client: Client, cache_calls: list[str]
) -> None:
    bound = 0.5

    async def scenario() -> None:
        app = application(recheck_seconds=bound)
        socket = WebsocketCommunicator(app, "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await asyncio.sleep(bound + 0.1)
        cache_calls.clear()
        await socket.send_json_to({})  # due: read again, one state check, still signed in
        assert await socket.receive_json_from() == BOB
        assert cache_calls == ["get_many"]
        await sync_to_async(revoke_session)(session_hash(client_session_id(bob_client)))
        await asyncio.sleep(bound + 0.1)
        await socket.send_json_to({})
        assert await socket.receive_output() == {"type": "websocket.close", "code": CLOSE_ENDED}
        await socket.wait()

    run(scenario)


def test_marked_while_open_the_next_message_sees_the_new_claims(
    bob_client: Client, bob: Any, queries: CaptureQueriesContext
) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application(0), "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await sync_to_async(set_roles)(bob, ("admin", "editor"))
        await socket.send_json_to({})
        assert await socket.receive_json_from() == {**BOB, "roles": ["admin", "editor"]}
        before = len(queries)  # rebuilt once, then kept for the socket
        await socket.send_json_to({})
        assert await socket.receive_json_from() == {**BOB, "roles": ["admin", "editor"]}
        assert len(queries) == before
        await socket.disconnect()

    run(scenario)


def test_a_state_check_that_cannot_run_closes_with_try_again_later(
    bob_client: Client, configure: Configure, settings: Any
) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application(0), "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        add_dead_cache(settings)
        configure(CACHE_ALIAS="down", ON_CACHE_OUTAGE="refuse")  # a Redis nobody listens on
        await socket.send_json_to({})
        assert await socket.receive_output() == {
            "type": "websocket.close",
            "code": CLOSE_UNAVAILABLE,
        }
        await socket.wait()

    run(scenario)


# -- configuration ---------------------------------------------------------------------------------


def test_another_session_engine_is_refused(settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"

    async def scenario() -> None:
        socket = WebsocketCommunicator(application(), "/ws/")
        with pytest.raises(ImproperlyConfigured, match="SESSION_ENGINE"):
            await socket.connect()

    run(scenario)


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="recheck_seconds"):
        application(recheck_seconds=-1)


def test_without_channels_the_import_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == "channels"]:
        monkeypatch.setitem(sys.modules, name, None)  # import channels... fails
    monkeypatch.delitem(sys.modules, "django_jwtsession.contrib.channels")
    with pytest.raises(ImproperlyConfigured, match=r'pip install "django-jwtsession\[channels\]"'):
        importlib.import_module("django_jwtsession.contrib.channels")


def test_a_rotated_secret_key_keeps_the_browser_signed_in_after_a_websocket_connect(
    bob_client: Client, settings: Any
) -> None:
    """The first read after a rotation upgrades the session's auth hash and moves it to a new
    id, ending the old one (as Django's get_user() cycles the key). A socket cannot give the
    browser the new cookie, so it leaves both to the browser's next request; then the socket,
    holding the old id, closes."""
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-rotation-0123456789abcdef"
    old_id = client_session_id(bob_client)

    async def scenario() -> None:
        socket = WebsocketCommunicator(application(0), "/ws/", headers=cookie_header(bob_client))
        await socket.connect()
        assert await socket.receive_json_from() == BOB
        await socket.send_json_to({})
        assert await socket.receive_json_from() == BOB
        response = await sync_to_async(bob_client.get)("/whoami/")
        assert response.json()["authenticated"] is True
        assert client_session_id(bob_client) != old_id  # moved by the request, not the socket
        await socket.send_json_to({})
        assert await socket.receive_output() == {"type": "websocket.close", "code": CLOSE_ENDED}
        await socket.wait()

    run(scenario)
    assert bob_client.get("/whoami/").json()["authenticated"] is True


def test_claims_rebuilt_on_a_socket_record_its_client(bob_client: Client, bob: Any) -> None:
    """Saved from a socket, the session record keeps an address and user agent: the socket's
    (as a request's would be), never blanks."""
    headers = [*cookie_header(bob_client), (b"user-agent", b"socket-agent/1.0")]

    async def scenario() -> None:
        await sync_to_async(set_roles)(bob, ("admin",))
        socket = WebsocketCommunicator(application(), "/ws/", headers=headers)
        socket.scope["client"] = ("203.0.113.7", 50000)  # what an ASGI server puts there
        await socket.connect()
        assert await socket.receive_json_from() == {**BOB, "roles": ["admin"]}
        await socket.disconnect()

    run(scenario)
    record = SessionRecord.objects.get(session_hash=session_hash(client_session_id(bob_client)))
    assert (record.ip, record.user_agent) == ("203.0.113.7", "socket-agent/1.0")
