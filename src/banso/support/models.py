"""The support desk (seed 004, also 001 and 003): inquiries that arrive by chat, email or web form, handled by
agents in teams under SLAs measured in business hours; the service-category tree and the separate inquiry
types (with a classifier that suggests the type); reply macros; the FAQ knowledge base and its help centre;
chatbot sessions in the chat widget; improvement requests traced to the inquiries behind them.

Where each piece's logic lives:
- `desk.py`: inquiries, messages, assignment, merge, team requests, tags, macros.
- `sla.py`: policies, the SLA clock (pausing statuses), breaches and attainment.
- `channels_email.py` / `chat.py` / `realtime.py`: email in and out, the chat widget and the chatbot, live push.
- `kb.py` / `search.py`: articles and versions, help-centre search (lexical, semantic, hybrid).
- `classify.py`, `analytics.py`, `improvements.py`: the type classifier, inquiry analytics, improvement requests.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account, Contact, EndUser
from banso.core.models import BackgroundRun, Team
from banso.marketplace.models import Booking


class Channel(models.TextChoices):
    # Contexts: other apps translate "Email" and "Phone" as the address and the number, not the channel.
    CHAT = "chat", pgettext_lazy("support channel", "Chat")
    EMAIL = "email", pgettext_lazy("support channel", "Email")
    FORM = "form", pgettext_lazy("support channel", "Web form")
    PHONE = "phone", pgettext_lazy("support channel", "Phone")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class StatusCategory(models.TextChoices):
    """What a (custom) status means for the desk: open work, waiting (on someone else), or done."""

    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


DONE_CATEGORIES = (StatusCategory.SOLVED, StatusCategory.CLOSED)


class Status(models.Model):
    """A status an inquiry can be in. The desk ships 新規/対応中/お客様回答待ち/保留/解決済み/クローズ; teams add
    their own (e.g. 出店者確認中), each saying whether the SLA clock pauses while an inquiry sits in it."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    category = models.CharField(_("meaning"), max_length=10, choices=StatusCategory.choices)
    pauses_sla = models.BooleanField(_("pauses the SLA clock"), default=False)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("inquiry status")
        verbose_name_plural = _("inquiry statuses")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_done(self) -> bool:
        return self.category in DONE_CATEGORIES


class TeamSettings(models.Model):
    """How the desk routes to one of the workspace's teams (core.Team): round-robin over its members, and the
    business hours its SLA clock runs in."""

    team = models.OneToOneField(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="support")
    # [["09:00", "12:00"], ["13:00", "18:00"]]; empty = core.business_hours default.
    business_hours = models.JSONField(_("business hours"), default=list, blank=True)
    round_robin = models.BooleanField(_("assign new inquiries round-robin"), default=True)
    # The member who got the last round-robin assignment (the next one goes to the member after them).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("team desk settings")
        verbose_name_plural = _("team desk settings")

    def __str__(self) -> str:
        return str(self.team)


class Category(models.Model):
    """The service-category tree (the marketplace has 400+ categories: ハウスクリーニング > エアコンクリーニング …).
    Articles and inquiries are filed under it; inquiry *types* are a separate list (InquiryType)."""

    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # "親 > 子 > 孫", kept up to date by the services so lists and filters need no recursion.
    path = models.CharField(_("path"), max_length=500, editable=False, default="")
    position = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path or self.name


class InquiryType(models.Model):
    """Why a customer wrote (予約の変更, 返金, ログインできない …): what analytics counts and the classifier
    suggests. Flat list with an optional group for reports."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    group = models.CharField(_("group"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("inquiry type")
        verbose_name_plural = _("inquiry types")
        ordering = ["group", "name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _public_token() -> str:
    return secrets.token_urlsafe(18)


class Inquiry(models.Model):
    """One conversation with a customer, a merchant or a provider, whatever the channel."""

    number = models.PositiveIntegerField(_("number"), unique=True)  # shown as #123; desk.next_number()
    subject = models.CharField(_("subject"), max_length=300)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.ForeignKey(Status, verbose_name=_("status"), on_delete=models.PROTECT, related_name="inquiries")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_inquiries",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="inquiries")
    # Who asked.
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    requester_email = models.EmailField(_("requester email"), blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    end_user = models.ForeignKey(
        EndUser, verbose_name=_("end user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    booking = models.ForeignKey(
        Booking, verbose_name=_("booking"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    # Classification: the agent-confirmed type, and what the classifier suggested when the inquiry arrived.
    category = models.ForeignKey(
        Category,
        verbose_name=_("service category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inquiries",
    )
    inquiry_type = models.ForeignKey(
        InquiryType, verbose_name=_("type"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    type_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggested_type = models.ForeignKey(
        InquiryType, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggested_for"
    )
    suggested_confidence = models.FloatField(_("confidence"), null=True, blank=True)
    # Duplicates merged into another inquiry keep their rows (and their messages move to the survivor).
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )
    # The token customers use to see the conversation (chat widget, email reply address, form receipt).
    public_token = models.CharField(max_length=40, unique=True, default=_public_token, editable=False)
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # Last message by the customer / by an agent (drives "waiting for us" and next-response SLA).
    last_customer_message_at = models.DateTimeField(_("last customer message"), null=True, blank=True)
    last_agent_message_at = models.DateTimeField(_("last agent reply"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)
    # SLA clock (sla.py): the due instant of each open target, recomputed as the clock pauses and resumes.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True)
    # The earliest of the open due instants (null when nothing is due): what the inbox sorts and warns by.
    sla_next_due_at = models.DateTimeField(_("next SLA due"), null=True, blank=True)

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="inquiry_status_updated"),
            models.Index(fields=["assignee", "status", "-updated_at"], name="inquiry_assignee_status"),
            models.Index(fields=["team", "status", "-updated_at"], name="inquiry_team_status"),
            models.Index(fields=["sla_next_due_at"], name="inquiry_sla_due"),
            models.Index(fields=["created_at"], name="inquiry_created"),
            models.Index(fields=["requester_email"], name="inquiry_requester_email"),
            models.Index(fields=["updated_at", "id"], name="inquiry_updated_id"),  # the inbox's keyset paging
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Bot")
    SYSTEM = "system", _("System")


class Message(models.Model):
    """One message of a conversation, or an internal note (never shown to the customer)."""

    inquiry = models.ForeignKey(Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="messages")
    author_kind = models.CharField(_("from"), max_length=10, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True, on_delete=models.SET_NULL
    )
    author_name = models.CharField(_("name"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    internal = models.BooleanField(_("internal note"), default=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    # Email threading: this message's Message-ID (inbound as received; outbound as queued in the outbox).
    email_message_id = models.CharField(max_length=300, blank=True, db_index=True)
    outbox_message = models.ForeignKey(
        "playbooks.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The knowledge-base article a bot answer quoted.
    article = models.ForeignKey("Article", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["inquiry", "created_at"], name="message_inquiry_time")]

    def __str__(self) -> str:
        return self.body[:50]


class TeamRequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")
    CANCELLED = "cancelled", _("Cancelled")


class TeamRequest(models.Model):
    """A question to another team about an inquiry ("ask the provider consultant"), tracked until answered."""

    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="team_requests"
    )
    to_team = models.ForeignKey(
        Team,
        verbose_name=_("to team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_requests",
    )
    # Free text when the team is outside the desk (e.g. 出店者コンサルタント, 経理).
    to_name = models.CharField(_("to"), max_length=100, blank=True)
    question = models.TextField(_("question"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TeamRequestStatus.choices, default=TeamRequestStatus.OPEN
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("answered by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("request to another team")
        verbose_name_plural = _("requests to other teams")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"#{self.inquiry.number} → {self.to_team or self.to_name}"


class SlaPolicy(models.Model):
    """Targets for one priority (and optionally one channel), in business minutes. The most specific policy
    applies: priority + channel, then priority alone."""

    name = models.CharField(_("name"), max_length=100)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"), null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(_("next response (business minutes)"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"), null=True, blank=True)
    # Business hours the clock runs in ([["09:00","12:00"],["13:00","18:00"]]; empty = the team's or default).
    business_hours = models.JSONField(_("business hours"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["priority", "channel"], name="sla_policy_priority_channel"),
        ]

    def __str__(self) -> str:
        return self.name


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SlaMeasurement(models.Model):
    """One target of one inquiry: when it started, when it was due, when (and whether in time) it was met. The
    rows attainment reports are built from (per agent and team, by month)."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="sla_measurements")
    metric = models.CharField(_("target"), max_length=20, choices=SlaMetric.choices)
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))
    started_at = models.DateTimeField(_("started"))
    due_at = models.DateTimeField(_("due"))
    achieved_at = models.DateTimeField(_("met"), null=True, blank=True)
    # Business minutes from start to achievement, pauses excluded.
    business_minutes = models.PositiveIntegerField(_("business minutes taken"), null=True, blank=True)
    breached = models.BooleanField(_("breached"), default=False)
    # Whose it was when it was met or breached (attainment per agent/team).
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SLA measurement")
        verbose_name_plural = _("SLA measurements")
        indexes = [
            models.Index(fields=["metric", "due_at"], name="sla_metric_due"),
            models.Index(fields=["inquiry", "metric"], name="sla_inquiry_metric"),
            # The breach job's minute scan: only open targets (history grows, open ones do not).
            models.Index(fields=["due_at"], condition=models.Q(achieved_at__isnull=True), name="sla_open_due"),
        ]

    def __str__(self) -> str:
        return f"#{self.inquiry.number} {self.get_metric_display()}"


class Macro(models.Model):
    """A reply template with merge fields ({{ requester_name }}, {{ number }}, {{ agent_name }} …)."""

    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(_("body"))
    # Optional actions applied with the reply.
    set_status = models.ForeignKey(Status, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="support_macros")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uses = models.PositiveIntegerField(_("uses"), default=0)
    active = models.BooleanField(_("active"), default=True)
    # Personal macros are seen and edited by their author only; shared ones by everyone (edited by desk managers).
    personal = models.BooleanField(_("personal"), default=False)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Article(models.Model):
    """A FAQ article. Its current text is the latest ArticleVersion; `title`/`body` mirror the published
    version (what the help centre, search and the chatbot use)."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    inquiry_types = models.ManyToManyField(InquiryType, verbose_name=_("answers inquiry types"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"))
    # Extra words the article should be found by (言い換え), one per line.
    keywords = models.TextField(_("keywords"), blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful_count = models.PositiveIntegerField(_("not helpful"), default=0)
    views = models.PositiveIntegerField(_("views"), default=0)
    # The e5 passage embedding of the published text (float32 bytes), computed at publish time (kb.publish).
    search_embedding = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "category"], name="article_status_category")]

    def __str__(self) -> str:
        return self.title


class ArticleVersion(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"))
    keywords = models.TextField(_("keywords"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("saved"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    note = models.CharField(_("change note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="article_version_uniq")]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class Synonym(models.Model):
    """Words searched as one (e.g. キャンセル / 取消 / 取り消し); one group per row, comma- or line-separated."""

    terms = models.TextField(_("terms"))

    class Meta:
        verbose_name = _("synonym group")
        verbose_name_plural = _("synonyms")

    def __str__(self) -> str:
        return self.terms[:60]


class SearchSource(models.TextChoices):
    HELP_CENTRE = "help", _("Help centre")
    CHATBOT = "bot", _("Chatbot")
    AGENT = "agent", _("Agent")


class SearchLog(models.Model):
    """Every search: what was asked, how many articles it found, and which one (if any) was opened."""

    query = models.CharField(_("query"), max_length=500)
    normalised = models.CharField(max_length=500, db_index=True)
    source = models.CharField(_("where"), max_length=10, choices=SearchSource.choices)
    results = models.PositiveIntegerField(_("results"))
    top_article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    clicked_article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("searched"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("search log")
        verbose_name_plural = _("search logs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.query


class ArticleFeedback(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), blank=True)
    session = models.ForeignKey("ChatSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("given"), default=timezone.now)

    class Meta:
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")

    def __str__(self) -> str:
        return f"{self.article} {'+' if self.helpful else '-'}"


class ChatOutcome(models.TextChoices):
    OPEN = "open", _("Open")
    SELF_RESOLVED = "self_resolved", _("Resolved by the bot")
    HANDED_OFF = "handed_off", _("Handed to a person")
    ABANDONED = "abandoned", _("Left without an answer")


class ChatSession(models.Model):
    """One visitor's conversation in the chat widget. The bot answers first; asking for a person hands the
    session over to an inquiry (carrying the whole conversation). Self-resolution rate = sessions resolved
    without a person / all sessions."""

    token = models.CharField(max_length=40, unique=True, default=_public_token, editable=False)
    visitor_name = models.CharField(_("name"), max_length=200, blank=True)
    visitor_email = models.EmailField(_("email"), blank=True)
    page_url = models.URLField(_("page"), max_length=1000, blank=True)
    inquiry = models.OneToOneField(
        Inquiry, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_session"
    )
    outcome = models.CharField(_("outcome"), max_length=15, choices=ChatOutcome.choices, default=ChatOutcome.OPEN)
    # The article whose answer resolved the session (self-resolution per article).
    resolved_by_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolved_sessions"
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    handed_off_at = models.DateTimeField(_("handed off"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # The bot's turns before any hand-off: [{"role": "visitor"|"bot", "text": ..., "article": id, "at": iso}].
    transcript = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("chat session")
        verbose_name_plural = _("chat sessions")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.visitor_name or self.token[:8]} {self.started_at:%Y-%m-%d %H:%M}"


class ClassifierRun(models.Model):
    """One training of the inquiry-type classifier on the workspace's confirmed inquiries."""

    trained_at = models.DateTimeField(_("trained"), default=timezone.now)
    samples = models.PositiveIntegerField(_("training inquiries"))
    types = models.PositiveIntegerField(_("types"))
    # Held-out accuracy (and macro F1) measured at training time.
    accuracy = models.FloatField(_("accuracy"), null=True, blank=True)
    macro_f1 = models.FloatField(_("macro F1"), null=True, blank=True)
    # Where the fitted model is stored (under the var directory).
    path = models.CharField(max_length=500)
    active = models.BooleanField(default=True)
    # Per-type training counts and held-out scores: {"per_type": {type_id: n}, "method": "..."}.
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("classifier training")
        verbose_name_plural = _("classifier trainings")
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"{self.trained_at:%Y-%m-%d %H:%M} ({self.samples})"


class ClassifierTraining(BackgroundRun):
    """A "train now" or nightly classifier training as background work, with the progress its page shows."""

    result = models.ForeignKey(ClassifierRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(BackgroundRun.Meta):
        verbose_name = _("classifier training run")
        verbose_name_plural = _("classifier training runs")
        constraints = [
            models.UniqueConstraint(
                fields=["as_of"], condition=models.Q(scheduled=True), name="support_one_scheduled_training"
            )
        ]


class ImprovementStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    SHIPPED = "shipped", _("Shipped")
    REJECTED = "rejected", _("Rejected")


class ImprovementTarget(models.TextChoices):
    PRODUCT = "product", _("Product")
    RULES = "rules", _("Rules and policies")
    CONTENT = "content", _("Help content")


class ImprovementRequest(models.Model):
    """A request to product (or to the rules) raised from what inquiries show, linked to the inquiries and
    types behind it; once shipped, the desk compares those types' volume before and after."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    target = models.CharField(
        _("to"), max_length=10, choices=ImprovementTarget.choices, default=ImprovementTarget.PRODUCT
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ImprovementStatus.choices, default=ImprovementStatus.PROPOSED
    )
    inquiry_types = models.ManyToManyField(InquiryType, verbose_name=_("inquiry types"), blank=True)
    inquiries = models.ManyToManyField(Inquiry, verbose_name=_("inquiries"), blank=True, related_name="improvements")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)

    class Meta:
        verbose_name = _("improvement request")
        verbose_name_plural = _("improvement requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class SupportSettings(models.Model):
    """The desk's settings (one row, pk=1): mail in and out, the widget, the chatbot."""

    # Replies go out from this address; customers' replies come back to it (IMAP polling or the webhook).
    reply_address = models.EmailField(_("support address"), blank=True)
    imap_host = models.CharField(_("IMAP host"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("IMAP over SSL"), default=True)
    imap_user = models.CharField(_("IMAP user"), max_length=200, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=200, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=100, default="INBOX")
    # Shared secret for the inbound-mail webhook (sent as the X-Banso-Signature HMAC).
    inbound_secret = models.CharField(_("inbound webhook secret"), max_length=100, blank=True)
    # Sites allowed to embed the chat widget (one origin per line; empty = any).
    widget_origins = models.TextField(_("widget allowed origins"), blank=True)
    bot_enabled = models.BooleanField(_("chatbot answers first"), default=True)
    bot_name = models.CharField(_("bot name"), max_length=50, default="サポートボット")
    # Below this search score the bot does not answer from an article and offers a person instead.
    bot_min_score = models.FloatField(_("minimum answer score"), default=0.0)
    default_team = models.ForeignKey(
        Team, verbose_name=_("default team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # SLA warning: an open target due within this many business minutes counts as about to breach.
    warn_before_minutes = models.PositiveIntegerField(_("warn before breach (business minutes)"), default=30)

    class Meta:
        verbose_name = _("support settings")
        verbose_name_plural = _("support settings")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> SupportSettings:
        """The one settings row (created with defaults on first use)."""
        row, _created = cls.objects.get_or_create(pk=1)
        return row
