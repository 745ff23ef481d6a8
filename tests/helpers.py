"""What the tests share besides fixtures: users, the one way to change ``JWTSESSION``, reading
sessions back out of a client, and assertion helpers. ``conftest.py`` holds only fixtures and
hooks; test modules import from here, never from ``conftest``."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from django_jwtsession.backends.db_keys import KEY_PREFIX as DB_KEY_PREFIX, session_id_for
from django_jwtsession.backends.table_storage import entry_key
from django_jwtsession.codec import b64url_decode, decode, encode
from django_jwtsession.conf import get_settings
from django_jwtsession.cookies import read_session_cookie
from django_jwtsession.keyspace import session_hash
from django_jwtsession.models import SessionRecord
from tests.testapp.models import Plan

PASSWORD = "test-password"

# -- users -----------------------------------------------------------------------------------------


def user_model_has_groups() -> bool:
    """Whether the user model has Django's ``groups`` (tests marked ``needs_groups`` need it)."""
    return any(field.name == "groups" for field in get_user_model()._meta.get_fields())


def set_roles(user: Any, roles: tuple[str, ...] | list[str], *, signal: bool = True) -> None:
    """Give ``user`` exactly these roles where the settings read them: its groups, or, for a
    user model without groups (``tests/variants/no_groups``), its ``Role`` rows.

    ``signal=False`` changes them as raw SQL or ``bulk_create`` would: no model signal, so no
    mark (the session's claims go stale until a refresh)."""
    if user_model_has_groups():
        groups = [Group.objects.get_or_create(name=role)[0] for role in roles]
        if signal:
            user.groups.set(groups)
            return
        through = type(user).groups.through
        through.objects.filter(user=user).delete()  # the through model's rows: no m2m_changed
        through.objects.bulk_create(through(user=user, group=group) for group in groups)
        return
    role_model = user.role_set.model
    if signal:
        user.role_set.exclude(name__in=roles).delete()
        for role in roles:
            role_model.objects.get_or_create(user=user, name=role)
        return
    with connection.cursor() as cursor:  # QuerySet.delete() would send post_delete
        table, column = role_model._meta.db_table, role_model._meta.get_field("user").column
        quote = connection.ops.quote_name
        cursor.execute(f"DELETE FROM {quote(table)} WHERE {quote(column)} = %s", [user.pk])  # noqa: S608
    role_model.objects.bulk_create(role_model(user=user, name=role) for role in roles)


def roles_of(user: Any) -> list[str]:
    """The user's roles as stored (what ``set_roles()`` wrote), sorted."""
    if user_model_has_groups():
        return sorted(user.groups.values_list("name", flat=True))
    return sorted(user.role_set.values_list("name", flat=True))


def make_user(
    username: str = "bob",
    *,
    roles: tuple[str, ...] = (),
    tier: str | None = None,
    flags: tuple[str, ...] = (),
    **fields: Any,
) -> Any:
    """A user of the installed user model (``get_user_model()``) with password ``PASSWORD``,
    ``roles``, and a ``Plan`` when ``tier`` is given."""
    model = get_user_model()
    fields.setdefault("email", f"{username}@example.com")
    user = model._default_manager.create_user(
        **{model.USERNAME_FIELD: username}, password=PASSWORD, **fields
    )
    if roles:
        set_roles(user, roles)
    if tier is not None:
        Plan.objects.create(user=user, tier=tier, flags=list(flags))
    return user


# -- settings --------------------------------------------------------------------------------------

Configure = Callable[..., None]
"""The ``configure`` fixture (conftest.py): ``jwtsession_settings`` for a whole test."""


def jwtsession_settings(**overrides: Any) -> override_settings:
    """``override_settings`` changing a few ``JWTSESSION`` keys and keeping the others: the one
    way the tests change ``JWTSESSION`` (as a context manager or a decorator; the ``configure``
    fixture does the same until the test ends)."""
    return override_settings(JWTSESSION={**settings.JWTSESSION, **overrides})


DEAD_REDIS = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",  # nobody listens there
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
}


def add_dead_cache(settings: Any) -> None:
    """Add the cache alias ``"down"``: a Redis nobody listens on (restored by ``settings``)."""
    settings.CACHES = {**settings.CACHES, "down": DEAD_REDIS}


# -- sessions, read back out of a test client ------------------------------------------------------


def session_token(client: Client) -> str:
    """The client's session token, joined from its cookie chunks (empty when there is none)."""
    return (
        read_session_cookie({name: morsel.value for name, morsel in client.cookies.items()}) or ""
    )


def token_payload(token: str) -> dict[str, Any]:
    """The verified payload of a session: the jwt token's, or the db strategy's stored one."""
    if token.startswith(DB_KEY_PREFIX):
        row = _stored_session(token)
        payload: dict[str, Any] = json.loads(row.meta)
        return {**payload, "dat": json.loads(row.data), "sid": token_session_id(token)}
    return decode(token).payload


def _stored_session(key: str) -> SessionRecord:
    secret = key.split(".")[1]
    return SessionRecord.objects.get(session_hash=session_hash(session_id_for(secret)))


def client_session_id(client: Client) -> str:
    """The opaque ``session_id`` of the client's session, whatever the strategy."""
    return token_session_id(session_token(client))


def token_session_id(token: str) -> str:
    """The opaque ``session_id`` of a session cookie's value, whatever the strategy."""
    if token.startswith(DB_KEY_PREFIX):
        return session_id_for(token.split(".")[1])  # even once its stored data is gone
    sid: str = decode(token).payload["sid"]
    return sid


def token_header(token: str) -> dict[str, Any]:
    """The (unverified) protected header of a compact JWS."""
    header: dict[str, Any] = json.loads(b64url_decode(token.split(".")[0]))
    return header


def resign_session(
    client: Client, *, without: tuple[str, ...] = (), **changes: Any
) -> dict[str, Any]:
    """Store the client's session with some payload members changed (e.g. an old iat), or
    left out (``without``): a re-signed token (jwt), or the rewritten row and cache entry (db)."""
    token = session_token(client)
    payload = {**token_payload(token), **changes}
    for member in without:
        payload.pop(member, None)
    # What the server issues holds sat <= cat <= iat: keep it so unless a test says otherwise.
    if "clm" in payload and "iat" in changes and "cat" not in changes:
        payload["cat"] = min(payload["cat"], changes["iat"])
    if "clm" in payload and "sat" not in changes:
        payload["sat"] = min(payload["sat"], payload["cat"])
    if "aat" in payload and "aat" not in changes:  # and sat <= aat <= iat
        payload["aat"] = max(payload["sat"], min(payload["aat"], payload["iat"]))
    if token.startswith(DB_KEY_PREFIX):
        meta = {key: value for key, value in payload.items() if key not in ("sid", "dat")}
        stored = {"data": json.dumps(payload["dat"]), "meta": json.dumps(meta)}
        SessionRecord.objects.filter(pk=_stored_session(token).pk).update(**stored)
        caches[get_settings().cache_alias].set(entry_key(payload["sid"]), stored)
    else:
        client.cookies[settings.SESSION_COOKIE_NAME] = encode(payload)
    return payload


def drop_deleted_cookies(client: Client, response: HttpResponseBase) -> None:
    """Forget the cookies ``response`` deleted, as a browser does (the test client keeps them)."""
    for name, morsel in response.cookies.items():
        if morsel["max-age"] == 0:
            client.cookies.pop(name, None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# -- the clock -------------------------------------------------------------------------------------


class Clock:
    """The app's clock (``time.time()``) moved forward by a test (the ``clock`` fixture).

    Token times, ``IDLE_TIMEOUT`` and the sign-in's age read ``time.time()``; Django's
    ``timezone.now()`` (``last_seen``, ``set_expiry()`` dates) keeps the real time. The file
    cache's entries expire by ``time.time()`` too: past ``STATE_CACHE_TIMEOUT`` a state check
    reads the database again.
    """

    def __init__(self, real: Callable[[], float]) -> None:
        self._real, self.offset = real, 0

    def time(self) -> float:
        return self._real() + self.offset

    def now(self) -> int:
        return int(self.time())

    def advance(self, seconds: int) -> None:
        self.offset += seconds


# -- query assertions ------------------------------------------------------------------------------

RECORD_TABLE = "django_jwtsession_sessionrecord"


@contextmanager
def refresh_queries(claims: int, records: int = 1) -> Iterator[None]:
    """Assert a block's queries: at most ``claims`` outside the session record table
    (rebuilding the claims) and exactly ``records`` writes to it (its upsert)."""
    with CaptureQueriesContext(connection) as captured:
        yield
    sql = [query["sql"] for query in captured.captured_queries]
    written = [query for query in sql if RECORD_TABLE in query]
    others = [query for query in sql if RECORD_TABLE not in query]
    assert len(written) == records, f"{len(written)} session record writes:\n" + "\n".join(sql)
    assert all(query.startswith(("INSERT", "UPDATE")) for query in written), written
    assert len(others) <= claims, f"{len(others)} queries besides the record:\n" + "\n".join(sql)


# -- a Redis of the tests' own (tests/processes.py starts it) --------------------------------------


def redis_cache(url: str, **options: Any) -> dict[str, Any]:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, **options},
    }


def use_cache(settings: Any, url: str, **options: Any) -> None:
    """Make the Redis at ``url`` the default cache (restored by the ``settings`` fixture)."""
    settings.CACHES = {**settings.CACHES, "default": redis_cache(url, **options)}
    caches["default"].clear()


def disconnect(url: str) -> None:
    """Close the process-wide django-redis pool for ``url`` (its server is gone)."""
    from django_redis.pool import ConnectionFactory

    pool = ConnectionFactory._pools.pop(url, None)
    if pool is not None:
        pool.disconnect()


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
