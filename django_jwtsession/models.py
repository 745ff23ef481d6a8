"""The durable truth behind marks and revocations."""

from __future__ import annotations

from django.db import models


class StateEntry(models.Model):
    """One counter that only grows: a user's mark version, a revocation epoch, a revoked session.

    Keys (see ``state.py``): ``u:<user id>:m`` (mark version), ``u:<user id>:r`` (the
    user's revocation epoch), ``g:r`` (the global revocation epoch) and
    ``s:<session hash>`` (1 once that session is revoked). The configured cache
    mirrors this table key for key; a cache flush loses nothing.
    """

    key = models.CharField(max_length=100, primary_key=True)
    version = models.BigIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = "session state entry"
        verbose_name_plural = "session state entries"

    def __str__(self) -> str:
        return f"{self.key} = {self.version}"
