"""People and their rights: users with a role, teams, API tokens, the audit log and the company calendar;
and the base of every app's background runs."""

import hashlib
import secrets
from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction, Role


class BansoUserManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person who signs in. The role decides what they may do (see `core.permissions`); the Django
    admin flags follow it, so an administrator is the only role that reaches /admin/."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # Accounts a CSM can carry in a month; coverage planning balances against it.
    capacity = models.PositiveIntegerField(_("monthly capacity"), default=40)

    objects: ClassVar[BansoUserManager] = BansoUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.is_staff = self.is_superuser = self.role == Role.ADMIN
        super().save(*args, **kwargs)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    lead = models.ForeignKey(
        User, verbose_name=_("lead"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(User, verbose_name=_("members"), related_name="teams", blank=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: User, name: str) -> tuple["ApiToken", str]:
        raw = "bns_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[4:12], key_hash=_hash_token(raw))
        return token, raw

    @classmethod
    def resolve(cls, raw: str) -> User | None:
        token = cls.objects.select_related("user").filter(key_hash=_hash_token(raw), revoked=False).first()
        if token is None or not token.user.is_active:
            return None
        cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user


class AuditEntry(models.Model):
    """One change to customer data: who, when, what, and each changed field before and after.

    `account_id` is a plain integer (not a foreign key) so that core stays below accounts in the
    dependency order and entries survive the deletion of what they describe.
    """

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("who"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(_("via"), max_length=20, default="ui")
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=50)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    account_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class ClosedDay(models.Model):
    """A company's own closed day (e.g. year-end 12/29–1/3), on top of national holidays."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class BackgroundRun(models.Model):
    """Long work for a day (a recompute, a rescore, a training) queued for the worker, with the progress its
    page shows while it runs. Apps subclass it with their own counts and a unique constraint that lets
    only one scheduler queue the day's scheduled run."""

    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    step = models.CharField(_("step"), max_length=200, blank=True)
    percent = models.PositiveSmallIntegerField(_("progress"), default=0)
    error = models.TextField(_("error"), blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled = models.BooleanField(_("scheduled"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.as_of} {self.get_status_display()}"

    @property
    def running(self) -> bool:
        """Queued or running: its page keeps polling."""
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    def progress(self, percent: int, step: str, **counts: int) -> None:
        """Record progress (and any counts) at once, outside the caller's transaction's later fate."""
        self.percent, self.step = percent, step[:200]
        for name, value in counts.items():
            setattr(self, name, value)
        type(self)._default_manager.filter(pk=self.pk).update(percent=percent, step=self.step, **counts)

    @classmethod
    def claim(cls, pk: int) -> tuple[Self, bool]:
        """The worker takes a queued run in one UPDATE: of two deliveries of the same task, one gets True."""
        claimed = cls._default_manager.filter(pk=pk, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING)
        return cls._default_manager.get(pk=pk), bool(claimed)
