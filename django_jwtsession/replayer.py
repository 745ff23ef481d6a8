"""The replay without a mirror: where no listener runs on Redis, one thread per process copies
pending writes.

The pushed mirror's listener also replays the marks and revocations a writer could not copy
to the cache (``pending.replay``). Where it cannot run on a Redis — a Redis Cluster
(``contrib.cluster``), Redis Sentinel (``contrib.sentinel``), a server that refused client
tracking — nothing else would: a writer cut off from Redis while its readers
are not (a partition, no failover, so no fence) and gone before its next request would leave
every reader trusting a stale "not revoked" until ``STATE_CACHE_TIMEOUT``. On a cluster that
matters more than on one server: a node down, paused or cut off is the usual failure, and it
comes back (restarted from its disk, a replica promoted, a partition healed) holding the
entries it had. So there each process runs this thread instead: every ``REPLAY_SECONDS`` it
copies pending entries (one indexed query in a database connection of its own, closed right
after), so a revocation the cache missed is honoured within ``REPLAY_SECONDS`` of the cache
answering again, even if its writer exited. Started lazily on the first state check (after a
``fork()`` too); stopped on settings changes and at exit. Not on other caches (file,
database, local memory), nor with ``MIRROR`` off on one Redis server (a choice documented
with ``STATE_CACHE_TIMEOUT``: only the writer retries).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from django.db import connections

from . import pending
from .conf import get_settings
from .derived import register_reset
from .keyspace import cache, clustered

logger = logging.getLogger("django_jwtsession")

_current: Replayer | None = None
_lock = threading.Lock()


class Replayer(threading.Thread):
    def __init__(self, every: float) -> None:
        super().__init__(name="jwtsession-replayer", daemon=True)
        self.every = every
        self.pid = os.getpid()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            replay_once("the replay")


def replay_once(what: str) -> None:
    """Copy the writes the cache missed, in a database connection of this thread's own,
    closed right after (one query every ``REPLAY_SECONDS`` needs no connection kept open).
    Never raises: a failure is logged (as ``what``) and tried again next time."""
    try:
        pending.replay()
    except Exception as exc:  # logged; tried again after REPLAY_SECONDS
        logger.warning("jwtsession: %s could not run (%s)", what, exc)
    finally:
        connections.close_all()  # this thread's connections only


def ensure() -> None:
    """Start this process's replayer on Redis (cheap when one runs or none is due); the
    caller (``listener.ensure``) knows that no mirror listener can run here."""
    global _current
    running = _current
    if running is not None and running.pid == os.getpid() and running.is_alive():
        return
    if not (clustered() or on_redis()):
        return
    every = get_settings().replay_seconds
    if not every:
        return
    with _lock:
        if _current is not None and _current.pid == os.getpid() and _current.is_alive():
            return
        _current = Replayer(every)
        _current.start()


def on_redis() -> bool:
    """Whether the cache is django-redis (one server, Sentinel, or any other client)."""
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover  (a dependency)
        return False
    return isinstance(cache(), RedisCache)


def running() -> bool:
    return _current is not None and _current.pid == os.getpid() and _current.is_alive()


def stop(*, wait: float = 0.0) -> None:
    """Stop this process's replayer; wait up to ``wait`` seconds for its thread to end."""
    global _current
    with _lock:
        replayer, _current = _current, None
    if replayer is not None:
        replayer.stopping.set()
        if wait and replayer.is_alive() and replayer is not threading.current_thread():
            replayer.join(wait)


register_reset(stop)
atexit.register(stop, wait=1.0)
