"""Offers (案件): creating and editing them with their base reward and cashback share, the status machine
approved → configured → published ⇄ paused → ended with its publishing checklist, the ASP list, and the offer
searches behind the list pages. Every change is audited against the advertiser's account."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.core.choices import AuditAction
from banso.core.services import record_change, snapshot
from banso.core.text import search_key

from .models import Asp, Offer, OfferCategory, OfferStatus, RewardType, SpecialRate, SpecialRateStatus

if TYPE_CHECKING:
    from banso.core.models import User

AUDITED = (
    "advertiser",
    "asp",
    "asp_offer_id",
    "name",
    "category",
    "landing_url",
    "conditions",
    "base_reward_type",
    "base_rate",
    "base_amount",
    "reward_type",
    "reward_rate",
    "reward_amount",
    "cashback_share",
    "status",
    "checklist",
    "owner",
    "published_at",
    "ended_at",
)

# The publishing checklist: every item must be ticked before an offer is published (出稿).
CHECKLIST: tuple[tuple[str, Any], ...] = (
    ("partnership", gettext_lazy("Partnership approval confirmed")),
    ("conditions", gettext_lazy("Conversion conditions checked")),
    ("reward", gettext_lazy("Reward and cashback share set")),
    ("tracking_test", gettext_lazy("Tracking test (test conversion confirmed)")),
    ("creatives", gettext_lazy("Listing text and images")),
    ("start_date", gettext_lazy("Listing start date")),
)
CHECKLIST_KEYS = tuple(key for key, _label in CHECKLIST)

# Which status each status may move to; ended is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    OfferStatus.APPROVED: frozenset({OfferStatus.CONFIGURED, OfferStatus.ENDED}),
    OfferStatus.CONFIGURED: frozenset({OfferStatus.APPROVED, OfferStatus.PUBLISHED, OfferStatus.ENDED}),
    OfferStatus.PUBLISHED: frozenset({OfferStatus.PAUSED, OfferStatus.ENDED}),
    OfferStatus.PAUSED: frozenset({OfferStatus.PUBLISHED, OfferStatus.ENDED}),
    OfferStatus.ENDED: frozenset(),
}

# The ASPs seeded by the offers migration (code, name).
SEED_ASPS = (
    ("a8", "A8.net"),
    ("valuecommerce", "ValueCommerce"),
    ("afb", "afb"),
    ("moshimo", "もしもアフィリエイト"),
    ("accesstrade", "アクセストレード"),
)

RATE_STEP = Decimal("0.01")


class OfferError(Exception):
    """Refused input; `field` names what was wrong (API: 422 with it, forms: the field's error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# Values ------------------------------------------------------------------------------------------------------


def parse_percent(field: str, value: Any, *, required: bool = True) -> Decimal | None:
    """A percentage 0–100 with at most 2 decimals ("5", "5.25", "5.25%"), or OfferError naming `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise OfferError(field, _("Enter a percentage from 0 to 100."))
        return None
    text = str(value).strip().removesuffix("%").removesuffix("％").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise OfferError(field, _("%(value)s is not a number.") % {"value": value}) from None
    if not number.is_finite() or number < 0 or number > 100:
        raise OfferError(field, _("Enter a percentage from 0 to 100."))
    if number != number.quantize(RATE_STEP):
        raise OfferError(field, _("Use at most two decimals (5.25)."))
    return number.quantize(RATE_STEP)


def parse_yen(field: str, value: Any, *, required: bool = True) -> int | None:
    """Whole yen ("1500", "1,500", "1,500円", "¥1,500"), or OfferError naming `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise OfferError(field, _("Enter an amount in whole yen."))
        return None
    if isinstance(value, bool):
        raise OfferError(field, _("Enter an amount in whole yen."))
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().replace(",", "").replace("¥", "").replace("￥", "").removesuffix("円").strip()
        if not text.isdigit():
            raise OfferError(field, _("%(value)s is not an amount in whole yen.") % {"value": value})
        number = int(text)
    if number < 0:
        raise OfferError(field, _("Enter an amount in whole yen."))
    return number


def reward_values(
    reward_type: Any, rate: Any, amount: Any, *, fields: tuple[str, str, str]
) -> tuple[str, Decimal | None, int | None]:
    """Checked (type, rate, amount): a rate reward has a rate 0–100 and no amount, a fixed one whole yen and no
    rate. `fields` names the type, rate and amount fields in errors."""
    type_field, rate_field, amount_field = fields
    if reward_type not in RewardType.values:
        raise OfferError(type_field, _("Choose a rate or a fixed amount."))
    if reward_type == RewardType.RATE:
        return RewardType.RATE, parse_percent(rate_field, rate), None
    return RewardType.FIXED, None, parse_yen(amount_field, amount)


def reward_text(reward_type: str, rate: Decimal | None, amount: int | None) -> str:
    """ "5.00%" for a rate, "1,500円" for a fixed amount."""
    if reward_type == RewardType.RATE:
        return "" if rate is None else f"{Decimal(rate).quantize(RATE_STEP)}%"
    return "" if amount is None else f"{amount:,}円"


def current_reward_text(offer: Offer) -> str:
    return reward_text(offer.reward_type, offer.reward_rate, offer.reward_amount)


def base_reward_text(offer: Offer) -> str:
    return reward_text(offer.base_reward_type, offer.base_rate, offer.base_amount)


# Creating and editing ----------------------------------------------------------------------------------------


def _advertiser(value: Any) -> Account:
    account = value if isinstance(value, Account) else None
    if account is None:
        try:
            account = Account.objects.get(pk=int(value))
        except (TypeError, ValueError, Account.DoesNotExist):
            raise OfferError("advertiser", _("Choose an advertiser.")) from None
    if account.kind != AccountKind.ADVERTISER:
        raise OfferError("advertiser", _("%(name)s is not an advertiser.") % {"name": account.name})
    return account


def _asp(value: Any) -> Asp:
    if isinstance(value, Asp):
        return value
    asp = None
    if value not in (None, ""):
        if isinstance(value, int) or str(value).isdigit():
            asp = Asp.objects.filter(pk=int(value)).first()
        if asp is None:
            asp = Asp.objects.filter(code=str(value)).first()
    if asp is None:
        raise OfferError("asp", _("Choose an ASP."))
    return asp


def _text(data: Mapping[str, Any], name: str, max_length: int, *, required: bool = False) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise OfferError(name, _("This field is required."))
    if len(value) > max_length:
        raise OfferError(name, _("At most %(max)s characters.") % {"max": max_length})
    return value


def _special_rate_active(offer: Offer) -> bool:
    return offer.pk is not None and offer.special_rates.filter(status=SpecialRateStatus.ACTIVE).exists()


@transaction.atomic
def save_offer(
    offer: Offer | None,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    via: str = "ui",
    source: str = "",
    external_id: str = "",
) -> Offer:
    """Create (offer=None) or update an offer from `data` (advertiser, asp, asp_offer_id, name, category,
    landing_url, conditions, base_reward_type, base_rate, base_amount, cashback_share, owner). Keys left out of
    an update keep their value. The live reward follows the base unless a special rate is in force. A new offer
    from an import carries its `source` and `external_id`."""
    creating = offer is None
    if offer is None:
        offer = Offer(external_id=external_id or uuid.uuid4().hex)
        if source:
            offer.source = source
        before = None
    else:
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        before = snapshot(offer, AUDITED)

    def given(name: str) -> bool:
        return creating or name in data

    if given("advertiser"):
        offer.advertiser = _advertiser(data.get("advertiser"))
    if given("asp"):
        offer.asp = _asp(data.get("asp"))
    if given("asp_offer_id"):
        offer.asp_offer_id = _text(data, "asp_offer_id", 100, required=True)
    if given("name"):
        offer.name = _text(data, "name", 200, required=True)
    if given("category"):
        category = data.get("category") or OfferCategory.EC
        if category not in OfferCategory.values:
            raise OfferError("category", _("Choose one of the categories."))
        offer.category = category
    if given("landing_url"):
        url = _text(data, "landing_url", 1000)
        if url and not url.startswith(("https://", "http://")):
            raise OfferError("landing_url", _("Enter a web address starting with https://."))
        offer.landing_url = url
    if given("conditions"):
        offer.conditions = _text(data, "conditions", 5000)
    if any(given(n) for n in ("base_reward_type", "base_rate", "base_amount")):
        kind, rate, amount = reward_values(
            data.get("base_reward_type", offer.base_reward_type),
            data.get("base_rate", offer.base_rate),
            data.get("base_amount", offer.base_amount),
            fields=("base_reward_type", "base_rate", "base_amount"),
        )
        offer.base_reward_type, offer.base_rate, offer.base_amount = kind, rate, amount
        if creating or not _special_rate_active(offer):
            offer.reward_type, offer.reward_rate, offer.reward_amount = kind, rate, amount
    if given("cashback_share"):
        share = data.get("cashback_share")
        offer.cashback_share = parse_percent("cashback_share", 50 if share in (None, "") and creating else share)  # type: ignore[assignment]
    if "owner" in data:
        owner = data.get("owner")
        if owner is None or owner == "" or hasattr(owner, "pk"):
            offer.owner = owner or None
        else:
            from banso.core.models import User

            try:
                offer.owner = User.objects.get(pk=int(owner))
            except (TypeError, ValueError, User.DoesNotExist):
                raise OfferError("owner", _("Choose a user.")) from None
    if Offer.objects.filter(asp=offer.asp, asp_offer_id=offer.asp_offer_id).exclude(pk=offer.pk).exists():
        raise OfferError(
            "asp_offer_id",
            _("%(asp)s already has an offer with program id %(id)s.") % {"asp": offer.asp, "id": offer.asp_offer_id},
        )
    offer.updated_at = timezone.now()
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError:
        raise OfferError("asp_offer_id", _("This program id is already used at this ASP.")) from None
    record_change(
        actor=actor,
        obj=offer,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        before=before,
        after=snapshot(offer, AUDITED),
        account_id=offer.advertiser_id,
        via=via,
    )
    return offer


def open_items(offer: Offer) -> list[str]:
    """Checklist keys not yet ticked, in checklist order."""
    ticked = offer.checklist or {}
    return [key for key in CHECKLIST_KEYS if not ticked.get(key)]


def checklist_rows(offer: Offer) -> list[dict[str, Any]]:
    ticked = offer.checklist or {}
    rows = []
    for key, label in CHECKLIST:
        when = ticked.get(key)
        rows.append(
            {"key": key, "label": label, "done": bool(when), "at": dt.datetime.fromisoformat(when) if when else None}
        )
    return rows


@transaction.atomic
def tick(
    offer: Offer,
    key: str,
    done: bool = True,
    *,
    actor: User | None,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> Offer:
    """Tick (or untick) one publishing checklist item; the time it was ticked is kept."""
    if key not in CHECKLIST_KEYS:
        raise OfferError("item", _("Not a checklist item: %(key)s") % {"key": key})
    locked = Offer.objects.select_for_update().get(pk=offer.pk)
    before = snapshot(locked, AUDITED)
    checklist = dict(locked.checklist or {})
    if done:
        checklist.setdefault(key, (now or timezone.now()).isoformat())
    else:
        checklist.pop(key, None)
    locked.checklist = checklist
    locked.updated_at = timezone.now()
    locked.save(update_fields=["checklist", "updated_at"])
    record_change(
        actor=actor,
        obj=locked,
        action=AuditAction.UPDATE,
        before=before,
        after=snapshot(locked, AUDITED),
        account_id=locked.advertiser_id,
        via=via,
    )
    return locked


def allowed_statuses(offer: Offer) -> list[str]:
    return sorted(TRANSITIONS[offer.status], key=OfferStatus.values.index)


@transaction.atomic
def set_status(
    offer: Offer,
    status: str,
    *,
    actor: User | None,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> Offer:
    """Move the offer along the status machine. Publishing needs every checklist item ticked (the error lists
    the open ones); publishing stamps published_at (first time), ending stamps ended_at."""
    if status not in OfferStatus.values:
        raise OfferError("status", _("Choose one of the offer statuses."))
    locked = Offer.objects.select_for_update().get(pk=offer.pk)
    if status == locked.status:
        return locked
    if status not in TRANSITIONS[locked.status]:
        raise OfferError(
            "status",
            _("An offer that is %(current)s cannot become %(new)s.")
            % {"current": locked.get_status_display(), "new": OfferStatus(status).label},
        )
    if status == OfferStatus.PUBLISHED:
        missing = open_items(locked)
        if missing:
            labels = dict(CHECKLIST)
            raise OfferError(
                "checklist",
                _("Tick every checklist item before publishing. Open: %(items)s")
                % {"items": "、".join(str(labels[k]) for k in missing)},
            )
    now = now or timezone.now()
    before = snapshot(locked, AUDITED)
    locked.status = status
    if status == OfferStatus.PUBLISHED and locked.published_at is None:
        locked.published_at = now
    if status == OfferStatus.ENDED:
        locked.ended_at = now
    locked.updated_at = now
    locked.save(update_fields=["status", "published_at", "ended_at", "updated_at"])
    record_change(
        actor=actor,
        obj=locked,
        action=AuditAction.UPDATE,
        before=before,
        after=snapshot(locked, AUDITED),
        account_id=locked.advertiser_id,
        via=via,
    )
    return locked


# ASPs --------------------------------------------------------------------------------------------------------


@transaction.atomic
def save_asp(asp: Asp | None, data: Mapping[str, Any], *, actor: User | None, via: str = "ui") -> Asp:
    """Create or update an ASP (code, name, report_format, notes)."""
    creating = asp is None
    asp = asp or Asp()
    before = None if creating else snapshot(asp, ("code", "name", "report_format", "notes"))
    code = _text(data, "code", 30, required=True)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        raise OfferError("code", _("Use letters, digits, - and _ only."))
    if Asp.objects.filter(code=code).exclude(pk=asp.pk).exists():
        raise OfferError("code", _("Another ASP has the code %(code)s.") % {"code": code})
    asp.code = code
    asp.name = _text(data, "name", 100, required=True)
    asp.report_format = _text(data, "report_format", 30) or "standard"
    asp.notes = _text(data, "notes", 5000)
    asp.save()
    record_change(
        actor=actor,
        obj=asp,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        before=before,
        after=snapshot(asp, ("code", "name", "report_format", "notes")),
        account_id=None,
        via=via,
    )
    return asp


# Searching ---------------------------------------------------------------------------------------------------


def search(
    *,
    status: str = "",
    category: str = "",
    asp: str = "",
    advertiser: str = "",
    q: str = "",
) -> QuerySet[Offer]:
    """Offers matching the filters, each annotated with `special_active` (a special rate is in force)."""
    qs = Offer.objects.select_related("advertiser", "asp").annotate(
        special_active=Exists(SpecialRate.objects.filter(offer_id=OuterRef("pk"), status=SpecialRateStatus.ACTIVE))
    )
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if asp:
        qs = qs.filter(Q(asp__code=asp) | Q(asp_id=int(asp)) if asp.isdigit() else Q(asp__code=asp))
    if advertiser:
        qs = qs.filter(advertiser_id=int(advertiser)) if advertiser.isdigit() else qs.none()
    if q:
        key = search_key(q)
        qs = qs.filter(
            Q(name__icontains=q.strip())
            | Q(asp_offer_id__icontains=q.strip())
            | Q(advertiser__search_text__contains=key)
        )
    return qs.order_by("name", "id")


def counts_by_status() -> list[dict[str, Any]]:
    """Offers per status, every status listed (zero included), in status order."""
    from django.db.models import Count

    found = dict(Offer.objects.order_by().values_list("status").annotate(n=Count("id")))
    return [{"status": s, "label": s.label, "count": found.get(s.value, 0)} for s in OfferStatus]
