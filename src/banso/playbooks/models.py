"""Playbooks: what the team does when an account's state changes, decided once and carried out the same way.

A `Playbook` has one trigger (a state change found by `triggers.py`, or a manual start), conditions on the
account, a cool-down, and a sequence of `Step`s separated by waits. Each start on an account is a
`PlaybookRun` whose `RunStep`s record what each step did. Steps create `Task`s from `TaskTemplate`s, queue
mail from `EmailTemplate`s and webhook posts in the `OutboxMessage` table (the only way anything leaves
Banso), or change the account (tags, fields).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account
from banso.core.models import BackgroundRun, Team


class TriggerKind(models.TextChoices):
    HEALTH_BAND = "health_band", _("Health band changed")
    RISK_THRESHOLD = "risk_threshold", _("Churn risk crossed a threshold")
    RENEWAL_DUE = "renewal_due", _("Renewal in N days")
    NO_TOUCH = "no_touch", _("No touch in N days")
    SURVEY_DETRACTOR = "survey_detractor", _("Survey detractor")
    INQUIRY_SPIKE = "inquiry_spike", _("Inquiry spike")
    SLA_BREACH = "sla_breach", _("SLA breach")
    CONTACT_CHANGED = "contact_changed", _("Contact person changed")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    SEGMENT_LEFT = "segment_left", _("Left a segment")
    DATE_REACHED = "date_reached", _("Date attribute reached")
    EVENT = "event", _("Event recorded")
    MANUAL = "manual", _("Manual start")


class Playbook(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("purpose"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=TriggerKind.choices, default=TriggerKind.MANUAL)
    # Per trigger kind, e.g. {"to_bands": ["red"]}, {"threshold": 0.6}, {"days": 60}, {"segment_id": 3},
    # {"attribute": "trial_end", "offset_days": -7}; validated by triggers.validate_params.
    trigger_params = models.JSONField(_("trigger settings"), default=dict, blank=True)
    # Conditions on the account, all of which must hold: [{"field": "tier", "op": "in", "value": ["low"]}, ...];
    # fields are account columns or "attributes.<key>"; validated by triggers.validate_conditions.
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    cooldown_days = models.PositiveSmallIntegerField(
        _("cool-down (days)"),
        default=30,
        validators=[MaxValueValidator(3650)],
        help_text=_("After a run starts on an account, the playbook does not start again there for this long."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OwnerRule(models.TextChoices):
    ACCOUNT_OWNER = "account_owner", _("Account owner")
    ROLE = "role", _("Someone with a role (least open tasks)")
    ROUND_ROBIN = "round_robin", _("Round-robin in a team")
    USER = "user", _("A named person")


class TaskTemplate(models.Model):
    """What a task says and who gets it: the title, the intent (why it matters), the checklist, the owner rule
    and the due date in Japanese business days from creation."""

    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(
        _("task title"), max_length=200, help_text=_("Merge fields such as {{ account.name }} allowed.")
    )
    intent = models.TextField(_("intent (why)"), blank=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    owner_rule = models.CharField(_("owner"), max_length=20, choices=OwnerRule.choices, default=OwnerRule.ACCOUNT_OWNER)
    owner_role = models.CharField(_("role"), max_length=20, blank=True)
    owner_team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_business_days = models.PositiveSmallIntegerField(
        _("due in (business days)"), default=3, validators=[MaxValueValidator(250)]
    )
    priority = models.CharField(_("priority"), max_length=10, default="normal")
    # Round-robin position: the last user a task went to, advanced under a row lock.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("task template")
        verbose_name_plural = _("task templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EmailAudience(models.TextChoices):
    PRIMARY_CONTACT = "primary", _("Primary contact")
    ALL_CONTACTS = "contacts", _("All contacts")
    OWNER = "owner", _("Account owner (internal)")


class EmailTemplate(models.Model):
    """A Japanese mail with merge fields ({{ account.name }}, {{ contact.name }}, {{ owner.name }}, ...).

    Tech-touch mail is marketing-like: it carries an unsubscribe link and is not sent to addresses that
    unsubscribed. Operational mail to the owner is not."""

    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    tech_touch = models.BooleanField(_("tech-touch mail (unsubscribe link)"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StepAction(models.TextChoices):
    TASK = "task", _("Create a task")
    EMAIL = "email", _("Send an email")
    WEBHOOK = "webhook", _("Post to a webhook")
    ADD_TAG = "add_tag", _("Add a tag")
    REMOVE_TAG = "remove_tag", _("Remove a tag")
    SET_FIELD = "set_field", _("Change a field")


class StepCondition(models.TextChoices):
    ALWAYS = "always", _("Always")
    NO_REPLY = "no_reply", _("Only if no reply since the run started")
    TASKS_OPEN = "tasks_open", _("Only if the run's tasks are still open")


class Step(models.Model):
    """One step of a playbook: after `wait_days` from the previous step (business days if `business_days`),
    and if `condition` holds, do `action` with `params`.

    params per action: task {"template_id"}; email {"template_id", "audience"}; webhook {"url", "text"};
    add_tag / remove_tag {"tag"}; set_field {"field", "value"}."""

    playbook = models.ForeignKey(Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"))
    wait_days = models.PositiveSmallIntegerField(_("wait (days)"), default=0, validators=[MaxValueValidator(365)])
    business_days = models.BooleanField(_("count business days"), default=True)
    condition = models.CharField(
        _("condition"), max_length=20, choices=StepCondition.choices, default=StepCondition.ALWAYS
    )
    action = models.CharField(_("action"), max_length=20, choices=StepAction.choices)
    params = models.JSONField(_("settings"), default=dict, blank=True)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["playbook", "position"]
        constraints = [models.UniqueConstraint(fields=["playbook", "position"], name="playbook_step_position")]

    def __str__(self) -> str:
        return f"{self.playbook} #{self.position}"


class PlaybookRunStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("playbook run", "Running")
    COMPLETED = "completed", pgettext_lazy("playbook run", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("playbook run", "Cancelled")
    FAILED = "failed", pgettext_lazy("playbook run", "Failed")


class PlaybookRun(models.Model):
    """One start of a playbook on one account. `cause` names what fired it (e.g. "health_band:red:2026-11-20");
    a cause starts a playbook on an account at most once, and the cool-down keeps other causes away."""

    playbook = models.ForeignKey(Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="runs")
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="playbook_runs"
    )
    cause = models.CharField(_("cause"), max_length=200)
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PlaybookRunStatus.choices, default=PlaybookRunStatus.ACTIVE
    )
    next_position = models.PositiveSmallIntegerField(_("next step"), default=1)
    next_due_at = models.DateTimeField(_("next step due"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("playbook run")
        verbose_name_plural = _("playbook runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "account", "cause"], name="playbook_run_once_per_cause")
        ]
        indexes = [
            models.Index(fields=["status", "next_due_at"], name="playbook_run_due"),
            models.Index(fields=["playbook", "account", "started_at"], name="playbook_run_cooldown"),
        ]

    def __str__(self) -> str:
        return f"{self.playbook} / {self.account}"


class StepOutcome(models.TextChoices):
    DONE = "done", pgettext_lazy("step outcome", "Done")
    SKIPPED = "skipped", pgettext_lazy("step outcome", "Skipped")
    FAILED = "failed", pgettext_lazy("step outcome", "Failed")


class RunStep(models.Model):
    """What one step did in one run: when, with which outcome, and what it made (a task, a message)."""

    run = models.ForeignKey(PlaybookRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("step"))
    action = models.CharField(_("action"), max_length=20, choices=StepAction.choices)
    outcome = models.CharField(_("outcome"), max_length=10, choices=StepOutcome.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    executed_at = models.DateTimeField(_("when"), default=timezone.now)
    task = models.ForeignKey("Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.ForeignKey("OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("run step")
        verbose_name_plural = _("run steps")
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="playbook_run_step_once")]

    def __str__(self) -> str:
        return f"{self.run} #{self.position}"


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task status", "To do")
    IN_PROGRESS = "in_progress", pgettext_lazy("task status", "In progress")
    WAITING = "waiting", pgettext_lazy("task status", "Waiting")
    DONE = "done", pgettext_lazy("task status", "Done")
    CANCELLED = "cancelled", pgettext_lazy("task status", "Cancelled")


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.WAITING)


class TaskPriority(models.TextChoices):
    HIGH = "high", pgettext_lazy("task priority", "High")
    NORMAL = "normal", pgettext_lazy("task priority", "Normal")
    LOW = "low", pgettext_lazy("task priority", "Low")


class Task(models.Model):
    """A piece of work with its intent kept: made by a playbook step or by hand, owned by one person and
    possibly delegated to an assistant (the owner stays accountable; the assistant does it)."""

    title = models.CharField(_("title"), max_length=200)
    intent = models.TextField(_("intent (why)"), blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_tasks"
    )
    delegated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delegated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delegated_tasks",
    )
    delegation_note = models.TextField(_("delegation note"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    priority = models.CharField(_("priority"), max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    due_on = models.DateField(_("due"), null=True, blank=True)
    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    run = models.ForeignKey(PlaybookRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    template = models.ForeignKey(TaskTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    overdue_alerted_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["owner", "status"], name="task_owner_status"),
            models.Index(fields=["delegated_to", "status"], name="task_delegate_status"),
            models.Index(fields=["status", "due_on"], name="task_status_due"),
        ]

    def __str__(self) -> str:
        return self.title


class ChecklistItem(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveSmallIntegerField(_("order"))
    text = models.CharField(_("item"), max_length=300)
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["task", "position"]

    def __str__(self) -> str:
        return self.text


class TaskComment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("posted"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:50]


class MessageKind(models.TextChoices):
    EMAIL = "email", pgettext_lazy("outbox", "Email")
    WEBHOOK = "webhook", pgettext_lazy("outbox", "Webhook")
    WEB_PUSH = "web_push", pgettext_lazy("outbox", "Web push")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("outbox", "Queued")
    SENDING = "sending", pgettext_lazy("outbox", "Sending")
    RETRYING = "retrying", pgettext_lazy("outbox", "Waiting to retry")
    SENT = "sent", pgettext_lazy("outbox", "Sent")
    FAILED = "failed", pgettext_lazy("outbox", "Failed (gave up)")
    SUPPRESSED = "suppressed", pgettext_lazy("outbox", "Not sent (unsubscribed)")


class OutboxMessage(models.Model):
    """One outgoing email or webhook post. Rows are written in the same transaction as the change that
    caused them and delivered by the outbox worker (`outbox.py`); nothing is deleted when it fails."""

    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    # Who queued it ("playbooks", "billing", ...) and, optionally, an idempotency key unique per source.
    source = models.CharField(_("source"), max_length=30, default="playbooks")
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(PlaybookRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    # Email.
    to_email = models.EmailField(_("to"), blank=True)
    from_email = models.CharField(_("from"), max_length=300, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)
    unsubscribable = models.BooleanField(default=False)
    # Extra mail headers (e.g. In-Reply-To, References, Reply-To for support threads).
    headers = models.JSONField(default=dict, blank=True)
    # Webhook.
    url = models.URLField(_("URL"), max_length=1000, blank=True)
    payload = models.JSONField(null=True, blank=True)
    # Delivery.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "dedupe_key"], name="outbox_dedupe"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return self.subject or self.url


class Unsubscribe(models.Model):
    """An address that asked for no more tech-touch mail; the outbox suppresses unsubscribable mail to it."""

    email = models.EmailField(_("email"), unique=True)
    created_at = models.DateTimeField(_("unsubscribed"), default=timezone.now)
    via = models.CharField(_("via"), max_length=20, default="link")

    class Meta:
        verbose_name = _("unsubscribe")
        verbose_name_plural = _("unsubscribes")

    def __str__(self) -> str:
        return self.email


class TriggerRun(BackgroundRun):
    """One evaluation of every active playbook's trigger over all accounts."""

    accounts_checked = models.PositiveIntegerField(_("accounts checked"), default=0)
    runs_started = models.PositiveIntegerField(_("runs started"), default=0)
    # The scheduled run's hour of the day (Japan time): one scheduled evaluation per hour, however many
    # schedulers ask. Null for runs started by hand.
    slot = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # Per playbook: [{"playbook_id", "name", "trigger", "fired", "started"}], what the page lists.
    results = models.JSONField(_("results"), default=list, blank=True)

    class Meta:
        verbose_name = _("trigger evaluation")
        verbose_name_plural = _("trigger evaluations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["as_of", "slot"], condition=models.Q(scheduled=True), name="one_scheduled_trigger_run_per_hour"
            )
        ]


class AccountTag(models.Model):
    """A tag on an account, set by hand or by a playbook step; segments and conditions can use it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("tag"), max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="account_tag_once")]
        indexes = [models.Index(fields=["name"], name="account_tag_name")]

    def __str__(self) -> str:
        return self.name
