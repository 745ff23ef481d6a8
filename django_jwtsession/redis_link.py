"""What this package needs from django-redis: the Redis behind ``CACHE_ALIAS``, reached with
bounded sockets, and the Redis keys of the entries the mirror tracks.

Only a django-redis ``RedisCache`` with its ``DefaultClient`` on one server through a plain
redis-py connection pool qualifies (no Sentinel, no sharding, no replicas): then
:func:`link` gives a :class:`RedisLink`, else None and the cache is used as it is.

Two sibling pools are made from the cache's own connection settings (same server,
credentials and TLS): the **bounded** one, whose sockets time out after
``CACHE_SOCKET_TIMEOUT`` with no retry, carries this package's own cache calls (the cache's
serializer and key function still apply: calls go through the cache with ``client=``); the
listener's connection speaks RESP2, so the invalidations arrive as pub/sub messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from redis import BlockingConnectionPool, ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .conf import get_settings
from .derived import derived
from .keyspace import CACHE_PREFIX

logger = logging.getLogger("django_jwtsession")

CHANNEL = "__redis__:invalidate"
TRACKED = ("u:", "g:", "s:", "db:", "spill:", "c:")
"""The tracked entries under ``CACHE_PREFIX``: state entries (user, global, session), stored
sessions (db and spilled) and shared claims; not the metrics."""


@dataclass(frozen=True)
class RedisLink:
    cache: Any
    """The django-redis cache (``CACHE_ALIAS``)."""
    bounded: Redis
    """A client whose calls never wait longer than ``CACHE_SOCKET_TIMEOUT``."""
    base: str
    """The Redis key of the cache key ``""``: the cache's ``KEY_PREFIX`` and version."""
    connection_class: type[Any]
    connection_kwargs: dict[str, Any]

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The Redis key prefixes the listener tracks (``CLIENT TRACKING … PREFIX``)."""
        return tuple(f"{self.base}{CACHE_PREFIX}{name}" for name in TRACKED)

    def cache_key(self, redis_key: bytes | str) -> str | None:
        """The cache key behind a Redis key of ours (an invalidation), else None."""
        if isinstance(redis_key, bytes):
            redis_key = redis_key.decode("utf-8", "surrogateescape")
        return redis_key[len(self.base) :] if redis_key.startswith(self.base) else None

    def listener_client(self, timeout: float) -> Redis:
        """A new client on one new connection of its own (RESP2, ``timeout`` sockets)."""
        kwargs = {**self.connection_kwargs, **_bounded(timeout), "protocol": 2}
        kwargs.pop("maint_notifications_config", None)  # RESP3 only (redis-py 7+)
        try:
            pool = ConnectionPool(connection_class=self.connection_class, **kwargs)
            return Redis(connection_pool=pool, single_connection_client=True)
        except TypeError:  # a redis-py before 5: no protocol argument, RESP2 is all it speaks
            del kwargs["protocol"]
            pool = ConnectionPool(connection_class=self.connection_class, **kwargs)
            return Redis(connection_pool=pool, single_connection_client=True)


def _bounded(timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }


@derived
def link() -> RedisLink | None:
    """The Redis behind ``CACHE_ALIAS`` when it is django-redis on one plain server."""
    try:
        from django_redis.cache import RedisCache
        from django_redis.client import DefaultClient
    except ImportError:  # pragma: no cover  (a dependency; kept optional in spirit)
        return None
    cache = caches[get_settings().cache_alias]
    if not isinstance(cache, RedisCache) or type(cache.client) is not DefaultClient:
        return None
    if len(cache.client._server) != 1:  # replicas: reads may come from another server
        return None
    pool = cache.client.get_client(write=True).connection_pool
    if type(pool) not in (ConnectionPool, BlockingConnectionPool):
        return None
    base = cache.make_key("")
    probe = f"{CACHE_PREFIX}u:probe"
    if cache.make_key(probe) != base + probe:  # a KEY_FUNCTION that does not just prefix
        logger.warning("jwtsession: the cache's KEY_FUNCTION does not prefix keys: no mirror")
        return None
    kwargs = dict(pool.connection_kwargs)
    timeout = get_settings().cache_socket_timeout
    bounded = Redis(
        connection_pool=ConnectionPool(
            connection_class=pool.connection_class, **{**kwargs, **_bounded(timeout)}
        )
    )
    return RedisLink(cache, bounded, base, pool.connection_class, kwargs)
