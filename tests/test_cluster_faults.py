"""Redis Cluster faults against a real three-primary cluster of the test's own (tests/cluster.py):
writes that span nodes while one node is down or paused.

A revocation whose copies lie on several nodes (``revoke_all``'s global epoch in every slot,
several users revoked at once) reaches every node that answers, whatever one node does: no
revoked session is accepted by a live node, and no request fails. The copies a paused node
missed are replayed from the database's pending flags once it answers again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_jwtsession import keyspace, listener, replayer, revocation as revocation_module
from django_jwtsession.models import StateEntry
from django_jwtsession.revocation import revoke_all, revoke_user
from tests.cluster import RedisClusterNodes, cluster_cache, forget_clients
from tests.helpers import Configure
from tests.test_cluster import login, username, users_on_every_node

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_cluster(settings: Any, tmp_path: Path) -> Iterator[RedisClusterNodes]:
    started = RedisClusterNodes(tmp_path)
    try:
        started.start()
        settings.CACHES = {**settings.CACHES, "default": cluster_cache(started)}
        yield started
    finally:
        forget_clients()
        started.stop()


@pytest.mark.parametrize("scope", ["all", "users"])
def test_a_revocation_reaches_the_live_nodes_while_one_is_down(
    own_cluster: RedisClusterNodes, strategy: str, scope: str
) -> None:
    users = users_on_every_node(own_cluster)
    tokens = {port: login(user.username) for port, user in users.items()}
    for port, token in tokens.items():
        assert username(token) == users[port].username
        assert username(token) == users[port].username  # "not revoked" cached on its node
    victim_port = next(iter(users))
    next(node for node in own_cluster.nodes if node.port == victim_port).kill()
    if scope == "all":
        revoke_all()
    else:
        revoke_user(list(users.values()))  # one write: their epochs lie on all three nodes
    revocation_module._unmirrored.clear()  # no retry by this process: the live nodes must have it
    for token in tokens.values():
        assert username(token) is None


def test_a_revocation_a_paused_node_missed_is_replayed_once_it_answers(
    own_cluster: RedisClusterNodes, strategy: str, configure: Configure
) -> None:
    """The node of the user's slot is paused (SIGSTOP) while the user is revoked: meanwhile the
    database answers for that user; once the node answers again it still holds "not revoked",
    until the replayer (a thread per process on a cluster: the mirror's listener does not run)
    copies the pending revocation there — without the writer, which is gone."""
    configure(REPLAY_SECONDS=0.2)
    users = users_on_every_node(own_cluster)
    port, victim = next(iter(users.items()))
    node = next(each for each in own_cluster.nodes if each.port == port)
    token = login(victim.username)
    assert username(token) == victim.username
    assert username(token) == victim.username  # "not revoked" cached on the node
    assert replayer.running()

    node.pause()
    try:
        revoke_user(victim)
        revocation_module._unmirrored.clear()  # the writer is gone: no retry from it
        entry = StateEntry.objects.get(key=keyspace.epoch_key(victim.pk))
        assert entry.pending is True  # the copy failed: flagged for the replay
        assert username(token) is None  # the node does not answer: the database does
    finally:
        node.resume()
    deadline = time.monotonic() + 10
    while StateEntry.objects.get(key=entry.key).pending:
        assert time.monotonic() < deadline, "the pending revocation was not replayed"
        time.sleep(0.05)
    with CaptureQueriesContext(connection) as queries:
        assert username(token) is None
    assert not any("jwtsession_stateentry" in query["sql"] for query in queries)  # the node said


def test_no_replayer_runs_off_a_cluster_or_sentinel(configure: Configure) -> None:
    """The test settings: a file cache, or one Redis server (MIRROR off there: a choice that
    leaves the retry to the writer). Sentinel's replayer: tests/test_sentinel.py."""
    configure(REPLAY_SECONDS=0.2)
    listener.ensure()
    assert not replayer.running()
