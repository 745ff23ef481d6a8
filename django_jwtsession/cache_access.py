"""This package's own cache calls: the mirror first, bounded sockets, nothing while Redis is down.

With a django-redis cache (:func:`~django_jwtsession.redis_link.link`):

- :func:`read` answers from the pushed mirror while it is current (no I/O at all), else
  makes one ``get_many`` round trip for what the mirror lacks, whose answers it inserts;
- every call waits at most ``CACHE_SOCKET_TIMEOUT`` (its own pool, no retry);
- while the mirror's listener has lost Redis (``mirror.DOWN``) no call is made: each raises
  :class:`Unreachable` at once, and the caller applies the outage policy — except the writes a
  caller cannot leave undone (``gated=False``: a db session's new data), which still try, bounded;
- a write drops its keys from this process's mirror before and after it runs, so this
  process reads its own writes at once, whatever the push's timing.

Other caches are called as they are; their errors become :class:`Unreachable` too. A Redis
Cluster's writes go through its django-redis client (``contrib.cluster``), whose errors are
seen whatever ``IGNORE_EXCEPTIONS`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import metrics
from .keyspace import cache, clustered
from .mirror import DOWN, MIRROR, SERVING
from .redis_link import link


class Unreachable(Exception):
    """The cache could not be asked (an error, a timeout, or Redis known to be down)."""


def read(keys: list[str]) -> dict[str, Any]:
    """The entries found among ``keys`` (cache keys): mirror first, then one round trip."""
    redis = link()
    if redis is None:
        return _call(lambda: cache().get_many(keys))  # type: ignore[no-any-return]
    mode = MIRROR.mode()
    if mode == DOWN:
        raise Unreachable("the mirror's listener lost Redis")
    found: dict[str, Any] = {}
    missing, ticket = keys, None
    if mode == SERVING:
        ticket = MIRROR.ticket()
        found, missing = MIRROR.lookup(keys)
        if not missing:
            metrics.count("mirror.hits")
            return found
        metrics.count("mirror.misses")
    # Through the cache (its IGNORE_EXCEPTIONS turns an outage into a miss), bounded.
    fetched: dict[str, Any] = _call(lambda: redis.cache.get_many(missing, client=redis.bounded))
    if ticket is not None and fetched:
        MIRROR.insert(fetched, ticket)
    found.update(fetched)
    return found


def _call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        raise Unreachable(str(exc) or type(exc).__name__) from exc


def _write(keys: Iterable[str], operation: str, *args: Any, gated: bool = True) -> Any:
    """Run the cache's ``operation`` on ``keys``, evicting them here before and after.

    With django-redis, through its client (errors are seen, whatever ``IGNORE_EXCEPTIONS``
    says: a writer must know when its copy failed), on the bounded connections; not at all
    while Redis is known down, unless not ``gated`` (the listener's own catching up).
    """
    keys = list(keys)
    MIRROR.invalidate(keys)
    redis = link()
    try:
        if redis is None:  # a Redis Cluster: its client too, so errors are seen
            target = cache().client if clustered() else cache()
            return _call(lambda: getattr(target, operation)(*args))
        if gated and MIRROR.mode() == DOWN:
            raise Unreachable("the mirror's listener lost Redis")
        return _call(lambda: getattr(redis.cache.client, operation)(*args, client=redis.bounded))
    finally:
        MIRROR.invalidate(keys)


def client_kwargs() -> dict[str, Any]:
    """``{"client": <bounded client>}`` for a django-redis cache, else ``{}``; raises
    :class:`Unreachable` while Redis is known to be down (for calls made elsewhere)."""
    redis = link()
    if redis is None:
        return {}
    if MIRROR.mode() == DOWN:
        raise Unreachable("the mirror's listener lost Redis")
    return {"client": redis.bounded}


def store(key: str, value: Any, timeout: float, *, gated: bool = True) -> None:
    _write([key], "set", key, value, timeout, gated=gated)


def add(key: str, value: Any, timeout: float) -> bool:
    """``add``: never over a concurrent writer's newer value. True when it was added."""
    return bool(_write([key], "add", key, value, timeout))


def store_many(values: dict[str, Any], timeout: float, *, gated: bool = True) -> None:
    _write(values, "set_many", values, timeout, gated=gated)


def delete(key: str, *, gated: bool = True) -> None:
    _write([key], "delete", key, gated=gated)


def delete_many(keys: list[str]) -> None:
    if keys:
        _write(keys, "delete_many", keys)
