"""Events (what accounts and end users did) and import jobs (how records arrived)."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, EndUser


class Event(models.Model):
    """Something an account or an end user did: a login, a visit, a booking, an inquiry, a survey answer.

    Events are immutable; re-importing the same (source, external_id) is a no-op.
    """

    source = models.CharField(_("source"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=100)
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # covered by the partial (subject, occurred_at) indexes below
    )
    end_user = models.ForeignKey(
        EndUser,
        verbose_name=_("end user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # covered by the partial (subject, occurred_at) indexes below
    )
    kind = models.CharField(_("kind"), max_length=50)
    occurred_at = models.DateTimeField(_("occurred at"))
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=4, null=True, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="event_source_uniq"),
            models.CheckConstraint(
                condition=models.Q(account__isnull=False) | models.Q(end_user__isnull=False),
                name="event_has_subject",
            ),
        ]
        # Only what the timelines need: every extra index costs the import path (measured in bench/import).
        # Analytics scans events through the analytics engine, not through these indexes.
        indexes = [
            models.Index(
                fields=["account", "-occurred_at"], name="event_account_time", condition=models.Q(account__isnull=False)
            ),
            models.Index(
                fields=["end_user", "-occurred_at"],
                name="event_enduser_time",
                condition=models.Q(end_user__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ImportEntity(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    CONTRACTS = "contracts", _("Contracts")
    END_USERS = "end_users", _("End users")
    EVENTS = "events", _("Events")


# Record types that apps above activity make importable (marketplace's bookings…), registered from their
# AppConfig.ready() through `importing.register_spec`: value → label.
REGISTERED_ENTITIES: dict[str, Any] = {}


def import_entity_choices() -> list[tuple[str, Any]]:
    """The built-in record types, then the registered ones (a callable, so registering needs no migration)."""
    return [*ImportEntity.choices, *REGISTERED_ENTITIES.items()]


class ImportJob(models.Model):
    """One file or API batch being imported; its progress and per-row errors are shown to the user."""

    entity = models.CharField(_("records"), max_length=20, choices=import_entity_choices)
    source = models.CharField(_("source"), max_length=50)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    stored_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_entity_display()} {self.filename}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED) else 0
        return min(100, self.processed_rows * 100 // self.total_rows)
