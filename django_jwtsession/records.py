"""Session records: one row per signed-in session, written at login, refresh and re-issue.

Ending them (and keeping them for history) is :mod:`~django_jwtsession.history`'s.

Never per request: a steady-state request writes nothing. The client's address is
``REMOTE_ADDR`` unless ``CLIENT_IP_HEADER`` names a header set by a trusted proxy.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone as django_timezone

from .conf import get_settings

if TYPE_CHECKING:
    from .models import SessionRecord

logger = logging.getLogger("django_jwtsession")


def _records() -> type[SessionRecord]:
    from .models import SessionRecord

    return SessionRecord


def client_ip(meta: Mapping[str, Any]) -> str | None:
    """The client's IP address, or None when it is missing or not an address.

    With ``CLIENT_IP_HEADER`` (e.g. ``"HTTP_X_FORWARDED_FOR"``), the rightmost entry of
    that header: the one your proxy appended, which a client cannot forge.
    """
    header = get_settings().client_ip_header
    raw = meta.get(header) if header else meta.get("REMOTE_ADDR")
    if not isinstance(raw, str) or not raw:
        return None
    candidate = raw.rsplit(",", 1)[-1].strip()
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return str(ipaddress.IPv6Address(candidate.split("%", 1)[0]))  # no zone: not storable
    return str(address)


def user_agent(meta: Mapping[str, Any]) -> str:
    from .models import USER_AGENT_MAX_LENGTH

    value = meta.get("HTTP_USER_AGENT", "")
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "")[:USER_AGENT_MAX_LENGTH]


def as_datetime(timestamp: int) -> datetime:
    """A Unix time as the database takes it: aware with ``USE_TZ``, else naive local time."""
    value = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    if settings.USE_TZ:
        return value
    return django_timezone.make_naive(value, django_timezone.get_default_timezone())


def save_record(
    *,
    session_hash: str,
    user_id: str | None,
    strategy: str,
    meta: Mapping[str, Any] | None,
    expires: int,
    data: str | None = None,
    session_meta: str | None = None,
    data_changed: bool = True,
    actor_id: str | None = None,
) -> None:
    """Create or update the session's record in one query (an upsert).

    ``actor_id`` is the impersonator's id for an impersonated session (see ``actor.py``).
    ``data`` and ``session_meta`` are the ``db`` strategy's stored session (the jwt
    strategy leaves them empty); an existing row's ``data`` is rewritten only when
    ``data_changed``, so a save that only refreshed claims never undoes another write.
    """
    records = _records()
    now = django_timezone.now()
    meta = meta or {}
    record = records(
        session_hash=session_hash,
        user_id=user_id,
        actor_id=actor_id,
        strategy=strategy,
        ip=client_ip(meta),
        user_agent=user_agent(meta),
        created=now,
        last_seen=now,
        expires=as_datetime(expires),
        data=data or "",
        meta=session_meta or "",
    )
    update_fields = ["user", "actor", "strategy", "ip", "user_agent", "last_seen", "expires"]
    if session_meta is not None:
        update_fields.append("meta")
    if data is not None and data_changed:
        update_fields.append("data")
    records.objects.bulk_create(
        [record],
        update_conflicts=True,
        unique_fields=["session_hash"],
        update_fields=update_fields,
    )


def actor_id_of(payload: Mapping[str, Any]) -> str | None:
    """The impersonator's user id in a session's payload (its ``act`` member), else None."""
    actor = payload.get("act")
    return actor["sub"] if isinstance(actor, dict) else None


def acted_in(user_ids: list[str], keep_hash: str | None = None) -> list[str]:
    """The public ids of the live sessions these users act in (impersonations)."""
    actors: list[Any] = list(user_ids)  # primary keys as Django stores them in sessions
    records = _records().objects.filter(actor_id__in=actors, revoked_at=None)
    if keep_hash is not None:
        records = records.exclude(session_hash=keep_hash)
    return list(records.values_list("session_hash", flat=True))
