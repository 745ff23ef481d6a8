"""What the session endpoints read and answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.utils import timezone as django_timezone
from rest_framework import serializers

from ...backends.base import ClaimsSessionBase
from ...claims import Claims
from ...models import SessionRecord


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


def _moment(timestamp: int | None) -> Any:
    if timestamp is None:
        return None
    return serializers.DateTimeField().to_representation(
        datetime.fromtimestamp(timestamp, tz=timezone.utc)
    )


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
    """The session's metadata: its opaque id (as in the sessions list), never the token."""
    expires = django_timezone.now() + timedelta(seconds=max(store.get_expiry_age(), 0))
    return {
        "id": store.public_id,
        "strategy": store.strategy,
        "transport": "bearer" if bearer else "cookie",
        "created": _moment(store.started_at),
        "expires": serializers.DateTimeField().to_representation(expires),
        "claims_at": _moment(store.claims_at),
    }


class SessionRecordSerializer(serializers.ModelSerializer[SessionRecord]):
    """One of my sessions; ``context["current"]`` is the current session's hash."""

    id = serializers.CharField(source="session_hash", read_only=True)
    device = serializers.SerializerMethodField()
    os = serializers.SerializerMethodField()
    browser = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()

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
        ]
        read_only_fields = fields

    @staticmethod
    def _agent(record: SessionRecord) -> Any:
        from ...admin.agents import parse  # the admin's parser, with its cache

        return parse(record.user_agent)

    def get_device(self, record: SessionRecord) -> str:
        return str(self._agent(record).device)

    def get_os(self, record: SessionRecord) -> str:
        return str(self._agent(record).os)

    def get_browser(self, record: SessionRecord) -> str:
        return str(self._agent(record).browser)

    def get_current(self, record: SessionRecord) -> bool:
        return bool(record.session_hash == self.context.get("current"))
