"""The durable truth behind marks and revocations, and the record of each session."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone

from .end_reasons import MAX_LENGTH as END_REASON_MAX_LENGTH
from .installed import ensure_installed

ensure_installed()  # imported without being installed: say so (jwtsession.E014)
USER_AGENT_MAX_LENGTH = 512


class StateEntry(models.Model):
    """One counter that only grows: a user's mark version, a revocation epoch, a revoked session.

    Keys (see ``state.py``): ``u:<user id>:m`` (mark version), ``u:<user id>:r`` (the
    user's revocation epoch), ``g:r`` (the global revocation epoch) and
    ``s:<session hash>`` (1 once that session is revoked). The configured cache
    mirrors this table key for key; a cache flush loses nothing. ``pending`` is set with
    each new version and cleared once the cache has it (``pending.py``).
    """

    key = models.CharField(max_length=100, primary_key=True)
    version = models.BigIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True, db_index=True)
    pending = models.BooleanField(default=False)
    """A version the cache may not have yet: any process copies it there."""

    class Meta:
        verbose_name = "session state entry"
        verbose_name_plural = "session state entries"
        indexes = [
            models.Index(
                fields=["key"], condition=models.Q(pending=True), name="jwtsession_state_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} = {self.version}"


class SessionRecordQuerySet(models.QuerySet["SessionRecord"]):
    def live(self) -> SessionRecordQuerySet:
        """The sessions that are neither revoked nor expired."""
        return self.filter(revoked_at=None, expires__gt=timezone.now())

    def ended(self) -> SessionRecordQuerySet:
        """The sessions that ended: revoked (for a reason), or expired."""
        ended = models.Q(revoked_at__isnull=False) | models.Q(expires__lte=timezone.now())
        return self.filter(ended)


class SessionRecord(models.Model):
    """One signed-in session, for people: who, from where, since when, and whether revoked.

    The jwt strategy writes it when a session is signed in, and when its claims are
    rebuilt or its token re-issued — never per request, so ``last_seen`` is accurate to
    ``CLAIMS_TTL`` / ``UPDATE_AGE``. The ``db`` strategy also keeps the session itself
    here (``data``), anonymous sessions included (``user`` is then empty), and writes it
    whenever the session changes. The session id is stored hashed, never as is.
    """

    session_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="jwtsession_records",
        null=True,
        # No database constraint: a record written while its user is being deleted must
        # not fail the request (the ORM still cascades; clearsessions prunes the rest).
        db_constraint=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        db_constraint=False,
        verbose_name="acted by",
    )
    """Who acted in the session when it was an impersonation (the impersonator), else None."""
    strategy = models.CharField(max_length=16)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    created = models.DateTimeField()
    last_seen = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField("ended", null=True, blank=True)
    """When the session ended (revoked, logged out, or found expired by ``clearsessions``)."""
    end_reason = models.CharField(max_length=END_REASON_MAX_LENGTH, blank=True)
    """Why it ended: an :class:`~django_jwtsession.end_reasons.EndReason` value, or a reason
    of your own (no ``choices``: adding one needs no migration); empty while live."""
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        db_constraint=False,
    )
    """Who ended it (the user, an administrator), or None: the system, or code that named nobody."""
    data = models.TextField(blank=True, editable=False)
    """The ``db`` strategy's session data (JSON); empty for the ``jwt`` strategy."""
    meta = models.TextField(blank=True, editable=False)
    """The ``db`` strategy's claims, epochs and timestamps (JSON), apart from the data."""

    objects = SessionRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "session"
        verbose_name_plural = "sessions"
        ordering = ["-last_seen"]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="jwtsession_record_user"),
            models.Index(fields=["revoked_at"], name="jwtsession_record_ended"),
        ]
        permissions = [("impersonate", "Can impersonate users")]

    def __str__(self) -> str:
        """``session of bob since 2025-05-01 09:12`` (the admin's page title)."""
        if self.user_id is None:
            who = "an anonymous visitor"
        else:
            try:
                who = self.user.get_username() if self.user is not None else str(self.user_id)
            except ObjectDoesNotExist:  # no database constraint: the user may be gone
                who = f"deleted user {self.user_id}"
        return f"session of {who} since {self.created:%Y-%m-%d %H:%M}"

    @property
    def ended_at(self) -> datetime | None:
        """When the session ended: ``revoked_at``, else its expiry once passed; None while live."""
        if self.revoked_at is not None:
            return self.revoked_at
        return self.expires if self.expires <= timezone.now() else None

    @property
    def why_ended(self) -> str | None:
        """Why it ended (``end_reason``; ``"lifetime"`` once expired), None while live."""
        if self.revoked_at is not None:
            return self.end_reason or "revoked"
        return "lifetime" if self.expires <= timezone.now() else None


class UserBan(models.Model):
    """A user banned until a time: their sessions were ended, and sign-in is refused until then
    (``ban_user()``, ``unban_user()``; see ``docs/bans.md``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jwtsession_ban"
    )
    until = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    """A note for the staff (shown in the admin, never to the banned user)."""
    created = models.DateTimeField(default=timezone.now)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        db_constraint=False,
    )

    class Meta:
        verbose_name = "ban"
        verbose_name_plural = "bans"
        ordering = ["-until"]

    def __str__(self) -> str:
        return f"ban of user {self.user_id} until {self.until:%Y-%m-%d %H:%M}"

    @property
    def active(self) -> bool:
        return bool(self.until > timezone.now())
