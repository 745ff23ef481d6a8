"""App configuration: registers the system checks and connects the receivers."""

from __future__ import annotations

from django.apps import AppConfig


class JWTSessionConfig(AppConfig):
    name = "django_jwtsession"
    verbose_name = "JWT sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, deploy_checks, receivers

        checks.register()
        deploy_checks.register_checks()
        receivers.connect()
