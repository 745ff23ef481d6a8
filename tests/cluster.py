"""A Redis Cluster of the tests' own on 127.0.0.1: three primaries (no replicas) on free ports,
made with ``redis-cli --cluster create``, nothing saved to disk; a node can be killed.
``redis-server`` and ``redis-cli`` are Debian's (``.ci/run`` installs them); a missing binary
fails under ``REQUIRE_REDIS_URL`` or ``CI`` and skips elsewhere.

``.ci/run`` also starts one cluster for the whole run and names its nodes in
``REDIS_CLUSTER_NODES`` (``host:port,...``): the tests that leave the cluster whole use it
(:func:`shared`); ``REQUIRE_REDIS_CLUSTER`` makes it mandatory (fail, never skip)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.processes import RedisServer, free_port
from tests.sentinel import binary

NODE_TIMEOUT_MS = 500
START_TIMEOUT = 20.0
CLIENT = "django_jwtsession.contrib.cluster.ClusterClient"


class RedisClusterNodes:
    """Three ``redis-server --cluster-enabled yes`` joined into one cluster (all 16384 slots)."""

    def __init__(self, directory: Path, *, full_coverage: bool = False) -> None:
        self.directory = directory
        self.full_coverage = full_coverage
        self.nodes: list[RedisServer] = []
        self.external = False
        """Started by someone else (``.ci/run``): never stopped here."""

    @classmethod
    def running_at(cls, addresses: str) -> RedisClusterNodes:
        """A cluster already running, its nodes ``host:port,...`` (127.0.0.1 only)."""
        found = cls(Path(os.devnull))
        found.external = True
        for address in addresses.split(","):
            node = RedisServer("redis-server", found.directory)
            node.port = int(address.rsplit(":", 1)[1])
            found.nodes.append(node)
        if not all(found._ok(node.port) for node in found.nodes):
            pytest.fail(f"REDIS_CLUSTER_NODES={addresses}: not every node says cluster_state:ok")
        return found

    def alive(self, server: RedisServer) -> bool:
        if self.external:
            return True
        return server.process is not None and server.process.poll() is None

    def start(self) -> None:
        server, cli = binary("redis-server"), binary("redis-cli")
        for index in range(3):
            node = RedisServer(
                server,
                self.directory,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{index}.conf",
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--cluster-require-full-coverage",
                "yes" if self.full_coverage else "no",
            )
            node.port = bus_port_pair()
            self.nodes.append(node)
            node.start()
        create = ["--cluster", "create", *self.addresses, "--cluster-replicas", "0"]
        created = subprocess.run(
            [cli, *create, "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if created.returncode != 0:
            self.stop()
            pytest.fail(f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}")
        deadline = time.monotonic() + START_TIMEOUT
        while not all(self._ok(node.port) for node in self.nodes):
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("the cluster did not reach cluster_state:ok in time")
            time.sleep(0.05)

    @staticmethod
    def _ok(port: int) -> bool:
        try:
            with client(port) as node:
                info = node.execute_command("CLUSTER", "INFO")
        except redis.RedisError:
            return False
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{node.port}" for node in self.nodes]

    def node_of(self, redis_key: str) -> RedisServer:
        """The node serving the hash slot of ``redis_key`` (a key as Redis sees it)."""
        with client(self.nodes[0].port) as node:
            slot = node.execute_command("CLUSTER", "KEYSLOT", redis_key)
            for start, end, primary, *_ in node.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = primary[1]
                    return next(server for server in self.nodes if server.port == port)
        raise AssertionError(f"no node serves the slot of {redis_key!r}")

    def move_slot(self, redis_key: str, to: RedisServer) -> None:
        """Move the hash slot of ``redis_key``, with its keys, to the node ``to`` (what
        ``redis-cli --cluster reshard`` does for each slot), and tell every node."""
        source = self.node_of(redis_key)
        with client(source.port) as origin, client(to.port) as target:
            slot = origin.execute_command("CLUSTER", "KEYSLOT", redis_key)
            origin_id = origin.execute_command("CLUSTER", "MYID").decode()
            target_id = target.execute_command("CLUSTER", "MYID").decode()
            target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", origin_id)
            origin.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            keys = origin.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
            if keys:
                origin.execute_command("MIGRATE", "127.0.0.1", to.port, "", 0, 5000, "KEYS", *keys)
            for node in self.nodes:
                with client(node.port) as each:
                    each.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)

    def commands(self) -> dict[tuple[int, str], int]:
        """Commands each node has run so far, by (port, command); not counted: what the
        counting connection itself sends (HELLO, CLIENT SETINFO, INFO) and redis-py's slot map
        refresh (CLUSTER)."""
        counts: dict[tuple[int, str], int] = {}
        for server in self.nodes:
            if not self.alive(server):
                continue
            with client(server.port) as node:
                for name, stats in node.info("commandstats").items():
                    command = name.removeprefix("cmdstat_")
                    if command.split("|")[0] not in ("info", "cluster", "hello", "client"):
                        counts[(server.port, command)] = stats["calls"]
        return counts

    def keys(self) -> int:
        """How many keys the live nodes hold."""
        total = 0
        for server in self.nodes:
            if self.alive(server):
                with client(server.port) as node:
                    total += int(node.dbsize())
        return total

    def stop(self) -> None:
        if not self.external:
            for node in self.nodes:
                node.stop()


def shared(directory: Path) -> RedisClusterNodes:
    """``.ci/run``'s cluster (``REDIS_CLUSTER_NODES``), else a new one in ``directory``;
    ``REQUIRE_REDIS_CLUSTER`` without ``REDIS_CLUSTER_NODES`` fails."""
    addresses = os.environ.get("REDIS_CLUSTER_NODES")
    if addresses:
        return RedisClusterNodes.running_at(addresses)
    if os.environ.get("REQUIRE_REDIS_CLUSTER"):
        pytest.fail("REQUIRE_REDIS_CLUSTER is set but REDIS_CLUSTER_NODES is not")
    started = RedisClusterNodes(directory)
    started.start()
    return started


BUS_OFFSET = 10000
"""Each node also listens on its port + 10000 (the cluster bus)."""


def bus_port_pair() -> int:
    """A free loopback port whose cluster bus port (+10000, at most 65535) is free too."""
    for _ in range(200):
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
        return port
    raise AssertionError("no free port pair for a cluster node")


def client(port: int) -> redis.Redis:
    """A plain client of one node (no cluster routing), short timeouts."""
    return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)


def forget_clients() -> None:
    """Close and drop this process's cluster clients (a test's cluster is gone)."""
    from django_jwtsession.contrib import cluster

    for each in cluster._clusters.values():
        each.close()
    cluster._clusters.clear()


def commands_between(before: dict[Any, int], after: dict[Any, int]) -> dict[Any, int]:
    """The commands run between two :meth:`RedisClusterNodes.commands` snapshots."""
    return {
        key: count - before.get(key, 0)
        for key, count in after.items()
        if count != before.get(key, 0)
    }


def cluster_cache(nodes: RedisClusterNodes, **options: Any) -> dict[str, Any]:
    """A django-redis cache on the cluster, as docs/deployment.md configures it."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": [f"redis://{address}" for address in nodes.addresses[:2]],
        "OPTIONS": {
            "CLIENT_CLASS": CLIENT,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            **options,
        },
    }
