"""Redis Sentinel without stale state after a failover: a connection pool for django-redis.

Redis replicates asynchronously, and a failover promotes a replica as it was: writes the
old primary acknowledged but had not yet sent are gone, and a revocation made while no
primary could be reached never got there at all. The cached state entries are a mirror of
the database, so a promoted replica may answer "not revoked" for a session the database
knows is revoked, until ``STATE_CACHE_TIMEOUT``.

This pool fences that off. Each new connection to the primary (never a request: the pool
keeps its connections) compares the server's ``run_id`` with the one recorded in the
database by the last primary that was fenced. A different one means this server was
promoted (or restarted with its data): before the connection is used, every mirror entry
of this app in the database (``*jwtsession:*`` but the metrics) is deleted, then the
server's ``run_id`` is recorded. Readers then miss and refill from the database, which has
every revocation. Configure (docs/deployment.md, "Redis Sentinel")::

    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://mymaster/0",  # the service name the sentinels monitor
        "OPTIONS": {
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "CONNECTION_POOL_CLASS": "django_jwtsession.contrib.sentinel.SentinelConnectionPool",
            "SENTINELS": [("sentinel-1", 26379), ("sentinel-2", 26379), ("sentinel-3", 26379)],
        },
    }}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis import sentinel
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from ..keyspace import CACHE_PREFIX
from ..metrics import KEY_PREFIX as METRICS_PREFIX

logger = logging.getLogger("django_jwtsession")

FENCE_KEY = f"{CACHE_PREFIX}fence"
"""The raw key holding the ``run_id`` of the primary the mirror entries belong to."""
MIRROR_PATTERN = f"*{CACHE_PREFIX}*"
"""The mirror entries (whatever the cache's KEY_PREFIX and VERSION), less those kept."""
KEPT = (METRICS_PREFIX.encode(), FENCE_KEY.encode())
"""Not mirrors of the database: the metrics' counts (a failover may lose a few), the fence."""
SCAN_COUNT = 1000


def _bytes(value: Any) -> bytes:
    """A reply as bytes, whether or not the connection decodes responses."""
    return value if isinstance(value, bytes) else str(value).encode()


def run_id(connection: Any) -> bytes:
    """The server's ``run_id``: new for every start of a Redis process."""
    connection.send_command("INFO", "server")
    for line in _bytes(connection.read_response()).splitlines():
        if line.startswith(b"run_id:"):
            return line.split(b":", 1)[1].strip()
    raise RedisConnectionError("INFO server has no run_id")


def fence(connection: Any) -> bool:
    """Empty the mirror entries on this server unless they belong to it; True if emptied."""
    current = run_id(connection)
    connection.send_command("GET", FENCE_KEY)
    recorded = connection.read_response()
    if recorded is not None and _bytes(recorded) == current:
        return False
    deleted, cursor = 0, b"0"
    while True:
        connection.send_command("SCAN", cursor, "MATCH", MIRROR_PATTERN, "COUNT", SCAN_COUNT)
        cursor, keys = connection.read_response()
        doomed = [key for key in keys if not any(kept in _bytes(key) for kept in KEPT)]
        if doomed:
            connection.send_command("UNLINK", *doomed)
            deleted += connection.read_response()
        if _bytes(cursor) == b"0":
            break
    connection.send_command("SET", FENCE_KEY, current)
    connection.read_response()
    logger.warning(
        "jwtsession: a Redis primary not seen before (run_id %s): %d mirrored state entries "
        "dropped, the database answers them again",
        current.decode(errors="replace"),
        deleted,
    )
    return True


class FencedConnection(sentinel.SentinelManagedConnection):
    """A connection that fences a primary it connects to before it is used."""

    def connect_to(self, address: tuple[str, int]) -> None:
        super().connect_to(address)  # type: ignore[no-untyped-call]  # redis.sentinel is untyped
        try:
            fence(self)
        except BaseException:
            self.disconnect()  # type: ignore[no-untyped-call]  # never left connected unfenced
            raise


class FencedSSLConnection(FencedConnection, SSLConnection):
    """:class:`FencedConnection` over TLS (``rediss://``)."""


class SentinelConnectionPool(sentinel.SentinelConnectionPool):
    """redis-py's Sentinel pool, for the primary only, with :class:`FencedConnection`."""

    def __init__(self, service_name: str, sentinel_manager: Any, **kwargs: Any) -> None:
        if not kwargs.get("is_master", True):
            raise ImproperlyConfigured(
                "django_jwtsession.contrib.sentinel.SentinelConnectionPool connects to the "
                "primary only: a replica may answer a state check before a revocation reaches "
                "it. Use django-redis's DefaultClient (not SentinelClient, which reads replicas)."
            )
        given = kwargs.get("connection_class")  # rediss:// gives SSLConnection
        tls = kwargs.pop("ssl", False) or (
            isinstance(given, type) and issubclass(given, SSLConnection)
        )
        kwargs["connection_class"] = FencedSSLConnection if tls else FencedConnection
        super().__init__(service_name, sentinel_manager, **kwargs)  # type: ignore[no-untyped-call]
