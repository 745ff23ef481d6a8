from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    def create_user(
        self, username: str, email: str = "", password: str | None = None, **fields: Any
    ) -> User:
        user = self.model(username=username, email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, username: str, email: str = "", password: str | None = None, **fields: Any
    ) -> User:
        fields = {"is_staff": True, "is_superuser": True, **fields}
        return self.create_user(username, email, password, **fields)


class User(AbstractBaseUser):
    """Django's user without ``PermissionsMixin`` (no groups, no user permissions): its roles
    are ``Role`` rows, and only a superuser has permissions."""

    username = models.CharField(max_length=150, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_superuser = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    def role_names(self) -> list[str]:
        """``JWTSESSION["ROLES_SOURCE"]`` (one query, as the groups are)."""
        return list(self.role_set.values_list("name", flat=True))

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return self.is_active and self.is_superuser

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.is_superuser


class Role(models.Model):
    """A role of a user (``JWTSESSION["MARK_MODELS"]``: a change marks the user)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE)
    name = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint("user", "name", name="one_role_per_name")]

    def __str__(self) -> str:
        return self.name
