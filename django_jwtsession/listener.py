"""The mirror's listener: one thread per process keeping the mirror current through Redis's push.

On its own connection (RESP2, see :mod:`~django_jwtsession.redis_link`) it runs
``CLIENT ID``, then ``CLIENT TRACKING ON REDIRECT <that id> BCAST PREFIX …`` for the
tracked entries, then ``SUBSCRIBE __redis__:invalidate``: Redis then publishes, on that
same connection, the keys under those prefixes that any client changes, and a null for a
``FLUSHDB``/``FLUSHALL``. Tracking lives and dies with that connection, so a connection
lost (killed, Redis restarted) can never leave tracking silently off: every new connection
starts over, with an empty mirror, copies the pending writes (:func:`pending.replay`), and
only then serves. A ``PING`` every quarter of ``MIRROR_HEALTH_SECONDS`` proves the server
answers; a ``PONG`` overdue by that bound drops the connection (the mirror stops answering
at once: :meth:`Mirror.mode` compares the time last heard with the bound).

The thread starts lazily, on the first state check of each process (:func:`ensure`: after
a ``fork()`` too, as in gunicorn ``--preload`` or uWSGI), never blocks a request, and stops
on :func:`stop`, at exit, and whenever settings change.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeout

from . import metrics, replayer
from .conf import get_settings
from .derived import register_reset
from .mirror import MIRROR, SERVING
from .redis_link import CHANNEL, RedisLink, link

logger = logging.getLogger("django_jwtsession")
POLL_SECONDS = 0.05
"""The longest the listener waits on its socket before checking what else is due."""
MAX_BACKOFF = 1.0

_current: Listener | None = None
_refused: tuple[int, RedisLink] | None = None  # tracking failed on this Redis: no mirror
_lock = threading.Lock()


class Listener(threading.Thread):
    def __init__(self, redis: RedisLink, health: float, replay_seconds: float) -> None:
        super().__init__(name="jwtsession-mirror-listener", daemon=True)
        self.redis, self.health, self.replay_seconds = redis, health, replay_seconds
        self.pid = os.getpid()
        self.stopping = threading.Event()
        self._syncs: list[threading.Event] = []  # sync() callers waiting for the next PONG
        self._syncs_lock = threading.Lock()
        self._reconnected = False
        self._degraded_since: float | None = time.monotonic()
        self.running = True
        """Until its thread ends (set before it starts: :func:`ensure` starts one once)."""

    def current(self) -> bool:
        return _current is self and not self.stopping.is_set()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.running = False

    def _run(self) -> None:
        delay = POLL_SECONDS
        while not self.stopping.is_set():
            began = time.monotonic()
            client: Any = None
            try:
                client = self.redis.listener_client(self.health)
                self._serve(client)
            except (RedisConnectionError, RedisTimeout, OSError) as exc:  # TimeoutError too
                self._lost(exc)
            except Exception as exc:  # e.g. an ACL or a proxy refusing CLIENT TRACKING
                self._refuse(exc)
                return
            finally:
                if client is not None:
                    client.close()
            if time.monotonic() - began > 5 * MAX_BACKOFF:
                delay = POLL_SECONDS  # it had been up a while: reconnect at once
            self.stopping.wait(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _serve(self, client: Any) -> None:
        connection = client.connection
        client.client_tracking_on(
            clientid=client.client_id(), prefix=list(self.redis.prefixes), bcast=True
        )
        client.execute_command("SUBSCRIBE", CHANNEL)
        connection.register_connect_callback(self._on_reconnect)
        self._reconnected = False
        self._catch_up(connection)
        ping_sent: float | None = None
        waiting: list[threading.Event] = []
        interval = self.health / 4
        next_replay = time.monotonic() + self.replay_seconds
        while self.current():
            self._fresh()
            now = time.monotonic()
            if ping_sent is None and (self._syncs or now - MIRROR.heard >= interval):
                connection.send_command("PING")
                with self._syncs_lock:
                    ping_sent, waiting, self._syncs = now, self._syncs, []
            if connection.can_read(timeout=POLL_SECONDS):
                message = connection.read_response()
                self._fresh()  # an answer after the bound does not make the mirror current
                self._heard()
                if message[0] == b"pong":
                    ping_sent = None
                    for event in waiting:
                        event.set()
                else:
                    self._invalidate(message)
            if self._reconnected:  # redis-py reconnected on its own: tracking is gone
                raise ConnectionError("the listener's connection was re-established")
            if self.replay_seconds and time.monotonic() >= next_replay:
                self._replay()
                next_replay = time.monotonic() + self.replay_seconds

    def _fresh(self) -> None:
        """Once the mirror has stopped answering (nothing heard within the bound), only a new
        connection, caught up, may make it answer again: drop this one."""
        if time.monotonic() - MIRROR.heard >= self.health:
            raise TimeoutError(f"nothing heard from Redis within {self.health} s")

    def _on_reconnect(self, connection: Any) -> None:
        self._reconnected = True

    def _heard(self) -> None:
        if self.current():
            MIRROR.heard = time.monotonic()

    def _invalidate(self, message: Any) -> None:
        if message[0] != b"message":
            return  # a subscribe confirmation
        keys = message[2]
        if keys is None:  # FLUSHDB / FLUSHALL
            MIRROR.clear()
            metrics.count("mirror.flushes")
            return
        cache_keys = [key for key in map(self.redis.cache_key, keys) if key is not None]
        MIRROR.invalidate(cache_keys)
        metrics.count("mirror.invalidations", len(cache_keys))

    def _catch_up(self, connection: Any) -> None:
        """A new connection: an empty mirror, the pending writes copied, a PONG, then serving."""
        MIRROR.clear()
        self._replay()
        connection.send_command("PING")
        deadline = time.monotonic() + self.health
        while True:  # invalidations may come first: the mirror is empty, they change nothing
            if not connection.can_read(timeout=max(deadline - time.monotonic(), 0)):
                raise TimeoutError(f"no PONG from Redis within {self.health} s")
            message = connection.read_response()
            if message[0] == b"pong":
                break
            self._invalidate(message)
        if self.current():
            self._heard()
            MIRROR.ready, MIRROR.lost = True, False
            self._count_degraded()
            self._degraded_since = None
            logger.info("jwtsession: the mirror is serving (pid %s)", self.pid)

    def _replay(self) -> None:
        replayer.replay_once("the mirror's replay")

    def _lost(self, exc: Exception) -> None:
        if not self.current():
            return
        was_serving = MIRROR.ready
        MIRROR.ready, MIRROR.lost = False, True  # first: not one more answer from the mirror
        MIRROR.clear()
        if was_serving:
            metrics.count("mirror.reconnects")
            logger.warning("jwtsession: the mirror lost Redis (%s); it serves again once back", exc)
        if self._degraded_since is None:
            self._degraded_since = time.monotonic()
        self._count_degraded()

    def _count_degraded(self) -> None:
        if self._degraded_since is not None:
            now = time.monotonic()
            metrics.count("mirror.degraded_ms", int((now - self._degraded_since) * 1000))
            self._degraded_since = now

    def _refuse(self, exc: Exception) -> None:
        global _refused
        logger.error("jwtsession: no mirror: it could not track Redis (%s)", exc, exc_info=exc)
        if self.current():
            _refused = (self.pid, self.redis)
            MIRROR.reset()

    def sync(self, timeout: float) -> bool:
        """Wait until a PING sent after this call is answered (see :func:`sync`)."""
        event = threading.Event()
        with self._syncs_lock:
            self._syncs.append(event)
        return event.wait(timeout)


def ensure() -> None:
    """Start this process's listener when the mirror is on and none runs (cheap when one does)."""
    global _current
    listener = _current  # None after a fork (_after_fork) or a stop
    if listener is not None and listener.running:
        return
    conf = get_settings()
    redis = link() if conf.mirror else None
    if redis is None and not conf.mirror and link() is not None:
        return  # MIRROR off on one server: only the writer retries (docs/settings.md)
    if redis is None or (_refused is not None and _refused[1] is redis):
        replayer.ensure()  # no listener can run: on Redis (Cluster, Sentinel) a replayer copies
        return
    with _lock:
        if _current is not None and _current.running:
            return
        MIRROR.reset()
        health = conf.mirror_health_seconds
        ttl = float(conf.state_cache_timeout)
        MIRROR.configure(max_entries=conf.mirror_max_entries, ttl=ttl, health=health)
        _current = Listener(redis, health, conf.replay_seconds)
        _current.start()


def stop(*, wait: float = 0.0) -> None:
    """Stop this process's listener (the mirror stops answering at once); wait up to
    ``wait`` seconds for its thread to end. Settings changes and exit call it."""
    global _current
    with _lock:
        listener, _current = _current, None
        MIRROR.reset()
    if listener is not None:
        listener.stopping.set()
        if wait and listener.is_alive() and listener is not threading.current_thread():
            listener.join(wait)


def sync(timeout: float = 2.0) -> bool:
    """Wait until every invalidation Redis sent before this call has reached the mirror.

    Redis queues a write's invalidations before it answers the write, and answers a PING
    after them: this sends one on the listener's connection and waits for its PONG. False
    when the mirror is not serving or the PONG did not come within ``timeout``.
    """
    listener = _current
    if listener is None or MIRROR.mode() != SERVING:
        return False
    return listener.sync(timeout)


def wait_serving(timeout: float) -> bool:
    """Wait (up to ``timeout`` seconds) until this process's mirror serves; start it if need be."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ensure()
        if MIRROR.mode() == SERVING:
            return True
        time.sleep(0.01)
    return False


def status() -> dict[str, Any]:
    """What this process's mirror is doing, for operators and tests."""
    listener = _current
    return {
        "pid": os.getpid(),
        "running": listener is not None and listener.running,
        "mode": MIRROR.mode(),
        "entries": len(MIRROR),
    }


def _after_fork() -> None:
    global _current, _refused, _lock
    _current, _refused, _lock = None, None, threading.Lock()


register_reset(stop)
atexit.register(stop, wait=1.0)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
