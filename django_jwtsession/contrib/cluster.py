"""Redis Cluster for django-redis: a ``CLIENT_CLASS`` on redis-py's ``RedisCluster``.

django-redis has no cluster client (7.0: ``DefaultClient`` talks to one server and its
replicas, ``ShardClient`` spreads keys over independent servers by its own hash, ``Herd`` and
``Sentinel`` are variants of the default). This client keeps everything of ``DefaultClient``
(key function, serializer, compressor, the cache API) and hands its commands to redis-py's
``RedisCluster``, which routes each key to the primary of its hash slot and follows ``MOVED``
and ``ASK`` (resharding) and failovers. Configure (docs/deployment.md, "Redis Cluster")::

    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"],  # any nodes: the
        "OPTIONS": {                                                      # others are found
            "CLIENT_CLASS": "django_jwtsession.contrib.cluster.ClusterClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }}

What differs from ``DefaultClient``:

- one ``RedisCluster`` per process for a ``LOCATION`` and ``OPTIONS``, shared by every
  thread's cache object (it discovers the slot map once), made anew after ``fork()``;
- ``get_many`` is one ``MGET`` when its keys share a hash slot — this package's state check
  always does (``keyspace``) — sent straight to the node the slot map names (redirects are
  left to ``RedisCluster``), else one ``MGET`` per slot, pipelined per node;
- reads go to primaries only: a replica may answer before a revocation reaches it
  (``read_from_replicas`` and ``load_balancing_strategy`` are refused);
- no retries unless ``REDIS_CLIENT_KWARGS`` gives a ``retry``: a command on a node that does
  not answer fails at once (the outage policy applies), and asks for a new slot map, which the
  next command fetches (at most once a second: redis-py's ``topology_refresh_min_interval``);
- sockets time out after ``SOCKET_TIMEOUT`` / ``SOCKET_CONNECT_TIMEOUT``, or
  ``JWTSESSION["CACHE_SOCKET_TIMEOUT"]`` when they are not set;
- errors of the cluster client itself (no node reachable, a slot not covered) are raised as
  redis-py's ``ConnectionError``, so ``IGNORE_EXCEPTIONS`` and the outage policy treat them as
  any other outage.

The pushed mirror (client tracking) does not run on a cluster: see ``jwtsession.W012``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.exceptions import ImproperlyConfigured
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url
from redis.exceptions import (
    AskError,
    ConnectionError as RedisConnectionError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.retry import Retry

from ..conf import get_settings

if int(redis.__version__.split(".")[0]) < 5:  # pragma: no cover  (CI installs a current one)
    raise ImproperlyConfigured(
        f"django_jwtsession.contrib.cluster needs redis-py 5 or later (found {redis.__version__})."
    )

REFUSED = ("read_from_replicas", "load_balancing_strategy")
"""``RedisCluster`` arguments that would read replicas, which lag behind their primary."""
DIRECT_PAUSE = 1.0
"""Seconds one-slot reads go through ``RedisCluster``'s routing after a node failed one."""
_ERRORS = (RedisError, RedisClusterException, OSError)


class Cluster(RedisCluster):
    """``RedisCluster`` whose own errors (no node reachable, a slot not covered) are
    ``ConnectionError``: what django-redis, and this package, take for an outage."""

    direct_after = 0.0
    """``time.monotonic()`` before which one-slot reads take redis-py's routed path only."""

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        except RedisClusterException as exc:
            raise RedisConnectionError(str(exc) or type(exc).__name__) from exc


_clusters: dict[str, Cluster] = {}
_lock = threading.Lock()


def _forget_after_fork() -> None:
    global _lock
    _clusters.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # a child makes its own (its parent's sockets are not its)
    os.register_at_fork(after_in_child=_forget_after_fork)


def cluster_kwargs(servers: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """The ``RedisCluster`` arguments for a cache's ``LOCATION`` and ``OPTIONS``."""
    extra = dict(options.get("REDIS_CLIENT_KWARGS") or {})
    refused = [name for name in REFUSED if extra.get(name)]
    if refused:
        raise ImproperlyConfigured(
            f"django_jwtsession.contrib.cluster.ClusterClient reads primaries only: "
            f"{refused[0]!r} would answer the state check from a replica, which may not have "
            "a revocation yet."
        )
    nodes: list[ClusterNode] = []
    kwargs: dict[str, Any] = {}
    for index, url in enumerate(servers):
        parsed = parse_url(url.strip())  # type: ignore[no-untyped-call]
        if parsed.get("db", 0) != 0:
            raise ImproperlyConfigured(
                f"A Redis Cluster has only database 0: {url!r} names database {parsed['db']}."
            )
        if "path" in parsed:
            raise ImproperlyConfigured(f"A Redis Cluster is reached over TCP, not {url!r}.")
        host, port = parsed.pop("host", "localhost"), parsed.pop("port", 6379)
        nodes.append(ClusterNode(host, port))  # type: ignore[no-untyped-call]
        parsed.pop("db", None)
        if index == 0:  # credentials and TLS: the first address's
            kwargs = parsed
    bound = get_settings().cache_socket_timeout
    kwargs["socket_timeout"] = options.get("SOCKET_TIMEOUT") or bound
    kwargs["socket_connect_timeout"] = options.get("SOCKET_CONNECT_TIMEOUT") or bound
    for option in ("USERNAME", "PASSWORD"):
        if options.get(option):
            kwargs[option.lower()] = options[option]
    return {"startup_nodes": nodes, **kwargs, **extra}


def _mget_one_slot(client: Cluster, names: list[str]) -> list[Any]:
    """One ``MGET`` of keys that share a slot, straight on the connection pool of the node
    the slot map names (redis-py's routing costs about 20 µs more per call in Python).

    A redirect (resharding, a failover) is left to ``RedisCluster``, which follows it and
    patches its slot map. Any other error is raised (the outage policy applies), and the next
    ``DIRECT_PAUSE`` seconds of reads take ``RedisCluster``'s own path, whose error handling
    refreshes the slot map (a node that went away, a replica promoted in its place).
    """
    now = time.monotonic()
    node = client.get_node_from_key(names[0]) if now >= client.direct_after else None  # type: ignore[no-untyped-call]
    pool = getattr(node, "redis_connection", None)
    if pool is None:
        return client.mget(names)
    try:
        return pool.mget(names)  # type: ignore[no-any-return]
    except (AskError, TryAgainError):  # MOVED or ASK: the slot is served elsewhere now
        return client.mget(names)
    except Exception:
        client.direct_after = now + DIRECT_PAUSE
        raise


def _per_node(
    client: Cluster, names: list[str], send: Callable[[Any, str], None], redo: Callable[[str], Any]
) -> None:
    """Write ``names``: ``send(pipeline, name)`` for each, in one pipeline per node the slot
    map names. Every node is written even when another fails (a write that spans nodes — the
    global epoch's copies, several users' entries — reaches every node that answers); the
    first failure is raised once all have run. A key redirected (resharding) is written again
    through ``RedisCluster``'s routing (``redo``)."""
    batches: dict[str, tuple[Any, list[str]]] = {}
    for name in names:
        node = client.get_node_from_key(name)  # type: ignore[no-untyped-call]
        batches.setdefault(node.name, (node, []))[1].append(name)
    failure: BaseException | None = None
    for node, batch in batches.values():
        try:
            pool = node.redis_connection
            if pool is None:  # not connected yet: the routed path
                for name in batch:
                    redo(name)
                continue
            pipeline = pool.pipeline(transaction=False)
            for name in batch:
                send(pipeline, name)
            for name, result in zip(batch, pipeline.execute(raise_on_error=False), strict=True):
                if isinstance(result, (AskError, TryAgainError)):  # MOVED is an AskError
                    redo(name)
                elif isinstance(result, Exception):
                    raise result
        except _ERRORS as exc:
            failure = failure or exc
            client.direct_after = time.monotonic() + DIRECT_PAUSE  # reads refresh the map
    if failure is not None:
        raise failure


class ClusterClient(DefaultClient):  # type: ignore[misc]  # django-redis is untyped here
    """django-redis's client on a Redis Cluster (see the module docstring)."""

    clustered = True
    """Read by ``keyspace.clustered()``: this package names its keys for a cluster."""

    def get_next_client_index(self, write: bool = True, tried: list[int] | None = None) -> int:
        return 0  # one client for the whole cluster; LOCATION lists startup nodes

    def connect(self, index: int = 0) -> Cluster:
        servers = [str(server) for server in self._server]
        kwargs = cluster_kwargs(servers, self._options)
        name = repr(sorted((key, repr(value)) for key, value in kwargs.items()))
        with _lock:
            found = _clusters.get(name)
            if found is None:
                try:  # no retry unless asked for: a node that does not answer fails at once
                    found = _clusters[name] = Cluster(**{"retry": Retry(NoBackoff(), 0), **kwargs})
                except _ERRORS as exc:  # no node answered: an outage, not a configuration error
                    raise ConnectionInterrupted(connection=None) from RedisConnectionError(
                        f"no Redis Cluster node of {servers} answered ({exc})"
                    )
        return found

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        client = client if client is not None else self._clients[index]
        if client is not None:
            client.disconnect_connection_pools()

    def get_many(
        self, keys: Collection[str], version: int | None = None, client: Any = None
    ) -> dict[str, Any]:
        """One ``MGET`` when the keys share a slot (a state check), else one per slot."""
        if not keys:
            return {}
        if client is None:
            client = self.get_client(write=False)
        wanted = {self.make_key(key, version=version): key for key in keys}
        names = list(wanted)
        try:
            if len({client.keyslot(name) for name in names}) == 1:
                values = _mget_one_slot(client, names)
            else:
                values = client.mget_nonatomic(names)
        except _ERRORS as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {
            wanted[name]: self.decode(value)
            for name, value in zip(names, values, strict=True)
            if value is not None
        }

    def set_many(
        self,
        data: dict[str, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
    ) -> None:
        """One pipeline per node; every node that answers is written (:func:`_per_node`)."""
        if not data:
            return
        if client is None:
            client = self.get_client(write=True)
        values = {self.make_key(key, version=version): value for key, value in data.items()}

        def send(target: Any, name: str) -> None:  # make_key leaves a made key as it is
            self.set(name, values[name], timeout, version=version, client=target)

        try:
            _per_node(client, list(values), send, lambda name: send(client, name))
        except _ERRORS as exc:
            raise ConnectionInterrupted(connection=client) from exc

    def delete_many(
        self, keys: Collection[str], version: int | None = None, client: Any = None
    ) -> int:
        """One pipeline per node; every node that answers is written (:func:`_per_node`).
        Returns how many keys were asked to go (not how many existed)."""
        names = [self.make_key(key, version=version) for key in keys]
        if not names:
            return 0
        if client is None:
            client = self.get_client(write=True)
        try:
            _per_node(client, names, lambda target, name: target.delete(name), client.delete)
        except _ERRORS as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return len(names)
