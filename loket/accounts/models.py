"""Agents (Django users with a role), teams and API tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")


class Availability(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentManager(UserManager["User"]):
    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        email = self.normalize_email(email).lower()
        extra.setdefault("username", email)
        user: User = super().create_user(email=email, password=password, **extra)
        return user

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """An agent. Signs in with the email address."""

    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    teams = models.ManyToManyField(Team, blank=True, related_name="members")
    language = models.CharField(_("language"), max_length=8, default="id")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Jakarta")
    availability = models.CharField(
        max_length=16, choices=Availability.choices, default=Availability.OFFLINE
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    objects: ClassVar[AgentManager] = AgentManager()

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
