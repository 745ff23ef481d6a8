"""The test app's models: a note owned by a user (FK assignment) and a plan (the tier and
flags sources, a ``MARK_MODELS`` entry), so the suite needs nothing from the sandbox."""

from django.conf import settings
from django.db import models


class Note(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.text


class Plan(models.Model):
    """A user's subscription: a tier and feature flags, at most one per user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan"
    )
    tier = models.CharField(max_length=20)
    flags = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.tier})"
