"""System checks of a Redis Cluster cache (``contrib.cluster``; documented in ``docs/checks.md``).

``jwtsession.W012``: the pushed mirror is on, but does not run on a cluster; ``W013``: the
keys one state check reads do not share a hash slot (a ``KEY_PREFIX`` or ``KEY_FUNCTION``
with braces), so the check is no longer one command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured

from . import conf, keyspace


def check_cluster(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        alias = conf.get_settings().cache_alias
        if alias not in settings.CACHES or not keyspace.clustered():
            return []
        mirror = conf.get_settings().mirror
        slots = state_check_slots(keyspace.cache())
    except ImproperlyConfigured:
        return []  # reported by the settings checks (or by the cache itself when it is used)
    messages: list[CheckMessage] = []
    if mirror:
        messages.append(
            Warning(
                f"The cache {alias!r} is a Redis Cluster: the pushed mirror (JWTSESSION"
                "['MIRROR']) does not run on one, so each state check is one cache round trip.",
                hint="Set JWTSESSION['MIRROR'] = False to say so (docs/deployment.md, "
                "'Redis Cluster').",
                id="jwtsession.W012",
            )
        )
    if len(slots) > 1:
        messages.append(
            Warning(
                f"The keys one state check reads fall in {len(slots)} hash slots of the Redis "
                f"Cluster {alias!r}, not one: each check takes {len(slots)} commands.",
                hint="Keep '{' and '}' out of the cache's KEY_PREFIX, and use a KEY_FUNCTION "
                "that does not add them: the package tags its keys itself.",
                id="jwtsession.W013",
            )
        )
    return messages


def state_check_slots(cache: Any) -> set[int]:
    """The hash slots of the Redis keys one state check reads (a signed-in db session's,
    the largest: its entry and its user's state entries)."""
    from redis.crc import key_slot

    _, names = keyspace.state_entries("1", "0" * 32)
    names.append(keyspace.stored_session_key("0" * 64, "db", "1"))
    return {key_slot(str(cache.make_key(name)).encode()) for name in names}
