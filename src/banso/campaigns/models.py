"""Affiliate offers (案件) received through affiliate networks (ASPs), their special-rate periods (特別単価) and the
switches that apply them, ASP conversion reports (成果: 発生/確定/否認), forecasts and proposals, and push/CRM
campaigns to end-user segments with per-user delivery records and frequency caps (seed 000, PLUG).

Money is integer yen; reward rates and cashback shares are Decimal percentages (5.00 = 5 %). Times are aware;
special-rate periods are half-open [starts_at, ends_at) and switch at those instants (usually 00:00 Asia/Tokyo
on the 1st of a month)."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account, EndUser, SourcedModel
from banso.analytics.models import Segment
from banso.core.models import BackgroundRun

# Offers ------------------------------------------------------------------------------------------------------


class Asp(models.Model):
    """An affiliate network (A8.net, ValueCommerce, afb, もしもアフィリエイト …) and how its result reports look."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # The report layout its CSV follows (`conversions.REPORT_FORMATS` key); "standard" = Banso's own columns.
    report_format = models.CharField(_("report format"), max_length=30, default="standard")
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("ASP")
        verbose_name_plural = _("ASPs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OfferCategory(models.TextChoices):
    EC = "ec", _("EC site")
    TRAVEL = "travel", _("Travel")
    RESTAURANT = "restaurant", _("Restaurants")
    CARD = "card", _("Credit cards")
    FINANCE = "finance", _("Financial accounts")
    SERVICE = "service", _("Services")
    OTHER = "other", _("Other")


class RewardType(models.TextChoices):
    RATE = "rate", _("Rate of the order amount")
    FIXED = "fixed", _("Fixed amount")


class OfferStatus(models.TextChoices):
    APPROVED = "approved", _("Partnership approved")
    CONFIGURED = "configured", _("Configured")
    PUBLISHED = "published", pgettext_lazy("offer status", "Published")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class Offer(SourcedModel):
    """An advertiser's offer as received through an ASP. `reward_*` is the live reward (the base, or a special
    rate while one is applied); `base_*` is what it returns to when a special rate ends."""

    advertiser = models.ForeignKey(
        Account, verbose_name=_("advertiser"), on_delete=models.PROTECT, related_name="offers"
    )
    asp = models.ForeignKey(Asp, verbose_name=_("ASP"), on_delete=models.PROTECT, related_name="offers")
    asp_offer_id = models.CharField(_("program id at the ASP"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=OfferCategory.choices, default=OfferCategory.EC)
    landing_url = models.URLField(_("landing page"), max_length=1000, blank=True)
    conditions = models.TextField(_("conditions"), blank=True)
    # Base reward as agreed with the ASP.
    base_reward_type = models.CharField(_("reward type"), max_length=10, choices=RewardType.choices)
    base_rate = models.DecimalField(_("base rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    base_amount = models.PositiveIntegerField(_("base reward (yen)"), null=True, blank=True)
    # The reward in force now (kept by the special-rate switches).
    reward_type = models.CharField(_("current reward type"), max_length=10, choices=RewardType.choices)
    reward_rate = models.DecimalField(_("current rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    reward_amount = models.PositiveIntegerField(_("current reward (yen)"), null=True, blank=True)
    # Share of the reward paid back to the user as cashback.
    cashback_share = models.DecimalField(_("cashback share (%)"), max_digits=5, decimal_places=2, default=50)
    status = models.CharField(_("status"), max_length=12, choices=OfferStatus.choices, default=OfferStatus.APPROVED)
    # Publishing checklist: {item key: ISO time it was ticked}; `offers.CHECKLIST` lists the items.
    checklist = models.JSONField(_("publishing checklist"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_offers",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="offer_source_uniq"),
            models.UniqueConstraint(fields=["asp", "asp_offer_id"], name="offer_asp_program_uniq"),
            models.CheckConstraint(
                condition=~models.Q(base_reward_type="rate") | models.Q(base_rate__isnull=False),
                name="offer_rate_has_rate",
            ),
            models.CheckConstraint(
                condition=~models.Q(base_reward_type="fixed") | models.Q(base_amount__isnull=False),
                name="offer_fixed_has_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(cashback_share__gte=0, cashback_share__lte=100), name="offer_share_0_100"
            ),
        ]
        indexes = [models.Index(fields=["status", "category"], name="offer_status_cat")]

    def __str__(self) -> str:
        return self.name


class SpecialRateStatus(models.TextChoices):
    # Contexts: earlier apps' catalogues translate the bare words otherwise (利用日時, 契約中).
    SCHEDULED = "scheduled", pgettext_lazy("special rate status", "Scheduled")
    ACTIVE = "active", pgettext_lazy("special rate status", "Active")
    ENDED = "ended", pgettext_lazy("special rate status", "Ended")
    CANCELLED = "cancelled", pgettext_lazy("special rate status", "Cancelled")


class SpecialRate(models.Model):
    """A negotiated special reward for [starts_at, ends_at). Periods of one offer must not overlap."""

    offer = models.ForeignKey(Offer, verbose_name=_("offer"), on_delete=models.CASCADE, related_name="special_rates")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reward_type = models.CharField(_("reward type"), max_length=10, choices=RewardType.choices)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.PositiveIntegerField(_("reward (yen)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SpecialRateStatus.choices, default=SpecialRateStatus.SCHEDULED
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("special rate")
        verbose_name_plural = _("special rates")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="special_rate_ends_after"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "starts_at"], name="special_rate_due_start"),
            models.Index(fields=["status", "ends_at"], name="special_rate_due_end"),
            models.Index(fields=["offer", "starts_at"], name="special_rate_offer"),
        ]

    def __str__(self) -> str:
        return f"{self.offer} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class SwitchKind(models.TextChoices):
    START = "start", _("Special rate starts")
    END = "end", _("Special rate ends")


class RateSwitch(models.Model):
    """A switch of an offer's live reward, applied once (unique per special rate and kind): the audit trail of
    the calendar. `due_at` is when it should happen, `applied_at` when it did."""

    offer = models.ForeignKey(Offer, verbose_name=_("offer"), on_delete=models.CASCADE, related_name="switches")
    special_rate = models.ForeignKey(
        SpecialRate, verbose_name=_("special rate"), on_delete=models.CASCADE, related_name="switches"
    )
    kind = models.CharField(_("switch"), max_length=10, choices=SwitchKind.choices)
    due_at = models.DateTimeField(_("due at"))
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)
    before = models.JSONField(_("before"), default=dict)
    after = models.JSONField(_("after"), default=dict)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(_("via"), max_length=20, default="scheduler")

    class Meta:
        verbose_name = _("rate switch")
        verbose_name_plural = _("rate switches")
        ordering = ["-due_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["special_rate", "kind"], name="rate_switch_once")]

    def __str__(self) -> str:
        return f"{self.offer} {self.kind} {self.due_at:%Y-%m-%d %H:%M}"


# Conversions -------------------------------------------------------------------------------------------------


class ConversionStatus(models.TextChoices):
    PENDING = "pending", _("Pending (発生)")
    APPROVED = "approved", _("Approved (確定)")
    REJECTED = "rejected", _("Rejected (否認)")


class Conversion(models.Model):
    """One result line of an ASP report. Re-importing the same (asp, asp_conversion_id) updates it in place
    (status moves 発生 → 確定/否認), never duplicates it."""

    asp = models.ForeignKey(Asp, verbose_name=_("ASP"), on_delete=models.PROTECT, related_name="conversions")
    asp_conversion_id = models.CharField(_("result id at the ASP"), max_length=100)
    offer = models.ForeignKey(Offer, verbose_name=_("offer"), on_delete=models.PROTECT, related_name="conversions")
    end_user = models.ForeignKey(
        EndUser, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="conversions"
    )
    # The media's click id passed to the ASP as a parameter; links the result back to the click event.
    click_id = models.CharField(_("click id"), max_length=100, blank=True, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ConversionStatus.choices)
    order_amount = models.PositiveBigIntegerField(_("order amount (yen)"), default=0)
    reward = models.PositiveBigIntegerField(_("reward (yen)"))
    # What the user gets back: reward × the offer's cashback share, rounded down to the yen.
    cashback = models.PositiveBigIntegerField(_("cashback (yen)"), default=0)
    # Set when the payout team has paid the cashback of an approved result; until then it is owed.
    cashback_paid_at = models.DateTimeField(_("cashback paid"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("conversion")
        verbose_name_plural = _("conversions")
        ordering = ["-occurred_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["asp", "asp_conversion_id"], name="conversion_asp_uniq")]
        indexes = [
            models.Index(fields=["offer", "occurred_at"], name="conversion_offer_time"),
            models.Index(fields=["end_user", "occurred_at"], name="conversion_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.asp} {self.asp_conversion_id}"


# Forecasts and proposals -----------------------------------------------------------------------------------


class Forecast(models.Model):
    """A forecast of acquisitions and revenue for an offer over a period at a proposed reward, with its inputs
    (unique visitors, conversion rate, uplift of past special rates) and an interval, as shown in a proposal."""

    offer = models.ForeignKey(Offer, verbose_name=_("offer"), on_delete=models.CASCADE, related_name="forecasts")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))  # inclusive
    reward_type = models.CharField(_("proposed reward type"), max_length=10, choices=RewardType.choices)
    rate = models.DecimalField(_("proposed rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.PositiveIntegerField(_("proposed reward (yen)"), null=True, blank=True)
    # {"unique_visitors": …, "conversion_rate": …, "uplift": …, "history_days": …, "method": …}
    inputs = models.JSONField(_("inputs"), default=dict)
    # {"acquisitions": {"low", "mid", "high"}, "revenue": {...}, "reward_cost": {...}, "interval": 0.8, ...}
    result = models.JSONField(_("result"), default=dict)
    # Promotion menu items included in the proposal (keys of `proposals.PROMOTION_MENU`).
    promotions = models.JSONField(_("promotion menu"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("forecast")
        verbose_name_plural = _("forecasts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.offer} {self.period_start}–{self.period_end}"


class BacktestRun(BackgroundRun):
    """The forecast method replayed over history: per offer and special-rate period, forecast vs actual."""

    offers = models.PositiveIntegerField(_("offers"), default=0)
    periods = models.PositiveIntegerField(_("periods"), default=0)
    # {"mape": …, "median_ape": …, "coverage": share of actuals inside the interval, "by_category": {...}}
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("forecast backtest")
        verbose_name_plural = _("forecast backtests")


# Push and CRM ------------------------------------------------------------------------------------------------


class PushSubscription(models.Model):
    """A browser's Web Push subscription (the extension's service worker) for an end user."""

    end_user = models.ForeignKey(
        EndUser, verbose_name=_("user"), on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(_("endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("subscribed"), default=timezone.now)
    # Set when the push service answers 404/410: the subscription is gone and is not used again.
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")
        indexes = [models.Index(fields=["end_user"], name="push_sub_user", condition=models.Q(revoked_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.end_user_id} {self.endpoint[:60]}"


class Channel(models.TextChoices):
    WEB_PUSH = "web_push", pgettext_lazy("campaign channel", "Web push")
    EMAIL = "email", pgettext_lazy("campaign channel", "Email")
    WEBHOOK = "webhook", pgettext_lazy("campaign channel", "Webhook")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("push campaign status", "Draft")
    SCHEDULED = "scheduled", pgettext_lazy("push campaign status", "Scheduled")
    SENDING = "sending", pgettext_lazy("push campaign status", "Sending")
    SENT = "sent", pgettext_lazy("push campaign status", "Sent")
    CANCELLED = "cancelled", pgettext_lazy("push campaign status", "Cancelled")


class PushCampaign(models.Model):
    """A notification to the members of an end-user segment, on one channel, at a time, optionally about an
    offer (conversions of that offer by recipients after delivery count as the campaign's)."""

    name = models.CharField(_("name"), max_length=200)
    segment = models.ForeignKey(Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey(
        Offer, verbose_name=_("offer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB_PUSH)
    title = models.CharField(_("title"), max_length=100)
    body = models.CharField(_("body"), max_length=500)
    url = models.URLField(pgettext_lazy("push campaign", "link"), max_length=1000, blank=True)
    # Webhook channel: the other push provider's endpoint.
    webhook_url = models.URLField(_("webhook URL"), max_length=1000, blank=True)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    # Attribution: a conversion of the offer within this many days after delivery counts as converted.
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"), default=7)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Counts kept as the send goes (results page): members, queued, capped, without an address/subscription.
    targeted = models.PositiveIntegerField(_("segment members"), default=0)
    queued = models.PositiveIntegerField(_("queued"), default=0)
    capped = models.PositiveIntegerField(_("held back by frequency cap"), default=0)
    unreachable = models.PositiveIntegerField(_("no address"), default=0)

    class Meta:
        verbose_name = _("push campaign")
        verbose_name_plural = _("push campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaign_due")]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    CAPPED = "capped", _("Held back (frequency cap)")
    UNREACHABLE = "unreachable", _("No address")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


CLICK_DIGEST = 16  # hex digits of the click link's digest (64 bits)


def click_token(delivery_id: int) -> str:
    """The tracked click link's key of a delivery, "<id>-<digest>": the digest is SHA-256 of a secret derived
    from SECRET_KEY and the id, so links can't be guessed, and it is computed, not stored (a stored random
    token's unique index cost a second per 335,000 deliveries). `push` computes the same in SQL."""
    digest = hashlib.sha256(f"{click_secret()}:{delivery_id}".encode()).hexdigest()[:CLICK_DIGEST]
    return f"{delivery_id}-{digest}"


def click_secret() -> str:
    return salted_hmac("banso.campaigns.click", "links").hexdigest()


class Delivery(models.Model):
    """One campaign's notification to one user: queued through the outbox (`outbox_message_id`), then
    delivered or failed; clicks and conversions are stamped on it for the campaign's results.

    The campaign's foreign key has no database constraint and no index of its own (the unique (campaign, user)
    index serves it): deliveries are written only by a send, in bulk, inside the campaign's transaction, and
    the deferred constraint's check cost a second per 335,000 rows at commit. Deleting a campaign still
    deletes its deliveries (Django's cascade)."""

    campaign = models.ForeignKey(
        PushCampaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False, db_constraint=False
    )
    end_user_id = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    outbox_message_id = models.BigIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["campaign", "end_user_id"], name="delivery_once_per_user")]
        indexes = [
            models.Index(fields=["end_user_id", "queued_at"], name="delivery_user_time"),
            models.Index(fields=["outbox_message_id"], name="delivery_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.end_user_id}"

    @property
    def token(self) -> str:
        """The key of the tracked click link (/c/<token>)."""
        return click_token(self.pk)


class CapSlot(models.Model):
    """Frequency caps that hold under concurrent sends: a notification to a user takes one of the `cap` slots of
    the user's Tokyo day (slot 0 … cap-1); the unique constraint lets only one sender take each slot, so two
    campaigns sending at once can't exceed the cap between them."""

    end_user_id = models.BigIntegerField()
    day = models.DateField()
    slot = models.PositiveSmallIntegerField()
    # No database constraint, like Delivery.campaign: written only by a send, next to its deliveries.
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="cap_slot", db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["end_user_id", "day", "slot"], name="cap_slot_once")]

    def __str__(self) -> str:
        return f"{self.end_user_id} {self.day} #{self.slot}"


class SendRun(BackgroundRun):
    """A campaign's send as background work: materialise the segment, apply caps, queue through the outbox."""

    campaign = models.ForeignKey(PushCampaign, on_delete=models.CASCADE, related_name="runs")

    class Meta(BackgroundRun.Meta):
        verbose_name = _("campaign send")
        verbose_name_plural = _("campaign sends")
