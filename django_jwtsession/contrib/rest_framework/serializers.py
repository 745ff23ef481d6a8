"""What the session endpoints read and answer."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from rest_framework import serializers

from ...backends.base import ClaimsSessionBase
from ...claims import Claims
from ...models import SessionRecord
from ...timestamps import iso


class LoginSerializer(serializers.Serializer[None]):
    """The user model's ``USERNAME_FIELD`` and ``password``; ``token`` asks for the token."""

    def get_fields(self) -> dict[str, Any]:
        return {
            get_user_model().USERNAME_FIELD: serializers.CharField(write_only=True),
            "password": serializers.CharField(
                write_only=True, trim_whitespace=False, style={"input_type": "password"}
            ),
            "token": serializers.BooleanField(required=False, default=False),
        }

    def authenticate(self, request: Any) -> Any:
        """The user the validated credentials name (``authenticate()``); None when wrong,
        or when that user may not log in (inactive)."""
        username_field = get_user_model().USERNAME_FIELD
        data = self.validated_data
        return authenticate(
            request._request, **{username_field: data[username_field], "password": data["password"]}
        )


class RefreshSerializer(serializers.Serializer[None]):
    force = serializers.BooleanField(required=False, default=False)


def claims_data(claims: Claims) -> dict[str, Any]:
    return {
        "user_id": claims.user_id,
        "username": claims.username,
        "is_active": claims.is_active,
        "is_staff": claims.is_staff,
        "is_superuser": claims.is_superuser,
        "roles": sorted(claims.roles),
        "tier": claims.tier,
        "flags": sorted(claims.flags),
        "extra": claims.extra,
    }


def session_data(store: ClaimsSessionBase, *, bearer: bool) -> dict[str, Any]:
    """The session's metadata: its public id (as in the sessions list), never the token.
    Times are ISO 8601 in UTC (:mod:`~django_jwtsession.timestamps`)."""
    expires = int(time.time()) + max(store.get_expiry_age(), 0)
    identity = store.identity
    return {
        "id": store.public_id,
        "strategy": store.strategy,
        "transport": "bearer" if bearer else "cookie",
        "created": iso(store.started_at),
        "signed_in": iso(None if identity is None else identity.signed_in_at),
        "expires": iso(expires),
        "claims_at": iso(store.claims_at),
    }


class Timestamp(serializers.ReadOnlyField):
    """A datetime in the one format of every answer (ISO 8601, UTC, seconds, ``Z``)."""

    def to_representation(self, value: Any) -> str | None:
        return iso(value)


class SessionRecordSerializer(serializers.ModelSerializer[SessionRecord]):
    """One of my sessions; ``context["current"]`` is the current session's public id. What
    the user agent does not tell (``device``, ``os``, ``browser``) is ``null``."""

    id = serializers.CharField(source="session_hash", read_only=True)
    created = Timestamp()
    last_seen = Timestamp()
    expires = Timestamp()
    device = serializers.SerializerMethodField()
    os = serializers.SerializerMethodField()
    browser = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()
    ended_at = serializers.SerializerMethodField()
    end_reason = serializers.SerializerMethodField()

    class Meta:
        model = SessionRecord
        fields = [
            "id",
            "strategy",
            "device",
            "os",
            "browser",
            "ip",
            "created",
            "last_seen",
            "expires",
            "current",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields

    @staticmethod
    def _agent(record: SessionRecord) -> Any:
        from ...admin.agents import parse  # the admin's parser, with its cache

        return parse(record.user_agent)

    def get_device(self, record: SessionRecord) -> str | None:
        return _known(self._agent(record).device)

    def get_os(self, record: SessionRecord) -> str | None:
        return _known(self._agent(record).os)

    def get_browser(self, record: SessionRecord) -> str | None:
        return _known(self._agent(record).browser)

    def get_current(self, record: SessionRecord) -> bool:
        return bool(record.session_hash == self.context.get("current"))

    def get_ended_at(self, record: SessionRecord) -> str | None:
        """When it ended (null while live): revoked, or expired."""
        return iso(record.ended_at)

    def get_end_reason(self, record: SessionRecord) -> str | None:
        """Why (an ``EndReason`` value; ``"lifetime"`` once expired), null while live."""
        return record.why_ended


def _known(value: str) -> str | None:
    """A parsed user agent part, or None where the admin shows "—" (unknown)."""
    from ...admin.agents import UNKNOWN

    return None if value == UNKNOWN else str(value)
