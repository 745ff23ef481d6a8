"""The sandbox's subscription: a tier and feature flags, one row per user."""

from __future__ import annotations

from django.conf import settings
from django.db import models

TIERS = ("free", "pro", "enterprise")


class Subscription(models.Model):
    class Tier(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription"
    )
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    flags = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.tier})"
