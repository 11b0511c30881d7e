"""ASP conversion results (成果): reading their statuses and report layouts, upserting them by (asp, result id)
with the rules a later report must keep (発生 → 確定/否認 only, no reward change once decided), the cashback each
result owes its user, the conversions list with its totals, and marking cashback as paid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import transaction
from django.db.models import CharField, Count, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import EndUser
from banso.accounts.services import parse_month as accounts_parse_month
from banso.activity.importing import ImportRefused, ImportResult, row_error
from banso.activity.models import Event
from banso.core.arrowdb import update_rows
from banso.core.business_hours import TOKYO
from banso.core.choices import AuditAction
from banso.core.models import AuditEntry, User
from banso.core.services import diff, record_changes_bulk
from banso.core.text import normalise

from .models import Asp, Conversion, ConversionStatus, Offer

LOOKUP_CHUNK = 5_000
WRITE_BATCH = 2_000  # rows per INSERT / UPDATE statement
CLICK_KIND = "offer_click"
VISIT_KIND = "visit"

# Status words seen in ASP reports (and Banso's own codes) → ConversionStatus. Matched after normalise().
STATUS_WORDS: dict[str, str] = {
    "発生": ConversionStatus.PENDING,
    "未確定": ConversionStatus.PENDING,
    "未承認": ConversionStatus.PENDING,
    "pending": ConversionStatus.PENDING,
    "確定": ConversionStatus.APPROVED,
    "承認": ConversionStatus.APPROVED,
    "承認済": ConversionStatus.APPROVED,
    "approved": ConversionStatus.APPROVED,
    "否認": ConversionStatus.REJECTED,
    "却下": ConversionStatus.REJECTED,
    "キャンセル": ConversionStatus.REJECTED,
    "非承認": ConversionStatus.REJECTED,
    "rejected": ConversionStatus.REJECTED,
}
_STATUS_LOOKUP = {normalise(word): status for word, status in STATUS_WORDS.items()}
DECIDED = (ConversionStatus.APPROVED, ConversionStatus.REJECTED)


def parse_status(text: str | None) -> str | None:
    """発生/確定/否認 (and the other words reports use) → a ConversionStatus value; None if not recognised."""
    if text is None:
        return None
    return _STATUS_LOOKUP.get(normalise(text))


# Report layouts ------------------------------------------------------------------------------------------------

# Banso's standard columns and how their text is read (import engine column kinds).
STANDARD_COLUMNS: dict[str, tuple[str, int | None]] = {
    "asp": ("str", 30),
    "asp_conversion_id": ("str", 100),
    "asp_offer_id": ("str", 100),
    "click_id": ("str", 100),
    "user": ("str", 100),
    "occurred_at": ("datetime", None),
    "decided_at": ("datetime", None),
    "status": ("str", 40),
    "order_amount": ("int_yen", None),
    "reward": ("int_yen", None),
}
REQUIRED = ("asp_conversion_id", "asp_offer_id", "occurred_at", "status", "reward")


@dataclass(frozen=True)
class ReportFormat:
    """A result report's header names → standard column (None: a column the report has that Banso ignores)."""

    label: str
    columns: dict[str, str | None]

    def header_for(self, standard: str, present: Iterable[str] = ()) -> str:
        """The report's own name for a standard column (the one the file uses, when several map to it)."""
        names = [h for h, s in self.columns.items() if s == standard]
        for name in names:
            if name in present:
                return name
        return names[0] if names else standard


# The per-ASP layouts are modelled on the reports' published column lists, not copied from real files.
REPORT_FORMATS: dict[str, ReportFormat] = {
    "standard": ReportFormat(
        "Banso standard",
        {**{name: name for name in STANDARD_COLUMNS}, "external_id": "asp_conversion_id"},
    ),
    "a8": ReportFormat(
        "A8.net",
        {
            "成果ID": "asp_conversion_id",
            "プログラムID": "asp_offer_id",
            "プログラム名": None,
            "広告主名": None,
            "発生日時": "occurred_at",
            "確定日時": "decided_at",
            "ステータス": "status",
            "売上金額": "order_amount",
            "報酬額": "reward",
            "パラメータ": "click_id",
            "備考": None,
        },
    ),
    "valuecommerce": ReportFormat(
        "ValueCommerce",
        {
            "トランザクションID": "asp_conversion_id",
            "プログラムID": "asp_offer_id",
            "広告主名": None,
            "サイト名": None,
            "クリック日時": None,
            "注文日時": "occurred_at",
            "承認日時": "decided_at",
            "ステータス": "status",
            "注文金額": "order_amount",
            "成果報酬額": "reward",
            "sid": "click_id",
        },
    ),
}


def all_report_headers() -> dict[str, str | None]:
    """Every header name any layout uses → its standard column; one name means the same thing everywhere."""
    out: dict[str, str | None] = {}
    for layout in REPORT_FORMATS.values():
        for header, standard in layout.columns.items():
            if header in out and out[header] != standard:
                raise ValueError(f"report column {header!r} means two things")
            out[header] = standard
    return out


# Cashback ------------------------------------------------------------------------------------------------------


def cashback_for(reward: int, share: Decimal, status: str) -> int:
    """The user's part of a result: reward × share %, rounded down to the yen; nothing for a rejected one."""
    if status == ConversionStatus.REJECTED:
        return 0
    return int((Decimal(reward) * Decimal(share) / 100).to_integral_value(rounding=ROUND_FLOOR))


# Upserting -----------------------------------------------------------------------------------------------------


@dataclass
class ConversionIn:
    """One report line in standard terms; `row` numbers it for errors, `columns` names the file's columns."""

    row: int | None
    asp: str | None
    asp_conversion_id: str | None
    asp_offer_id: str | None
    status: str | None  # the report's word
    occurred_at: dt.datetime | None
    reward: int | None
    decided_at: dt.datetime | None = None
    order_amount: int | None = None
    click_id: str | None = None
    user: str | None = None


@dataclass
class _Errors:
    columns: dict[str, str]
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int | None, standard: str, reason: str) -> None:
        self.items.append(row_error(row, self.columns.get(standard, standard), reason))


TRACKED = (
    "offer_id",
    "end_user_id",
    "click_id",
    "occurred_at",
    "decided_at",
    "status",
    "order_amount",
    "reward",
    "cashback",
)


def upsert_conversions(
    lines: Sequence[ConversionIn],
    *,
    source: str = "",
    columns: dict[str, str] | None = None,
    actor: User | None = None,
    via: str = "import",
) -> ImportResult:
    """Create or update results by (asp, result id) in bulk, all or nothing. Raises ImportRefused with
    every row's errors (named by the file's `columns`) before writing anything.

    `source` is the import's source: an ASP code there names the ASP of lines that carry none, and end users
    are looked for in that source first."""
    errors = _Errors(columns or {})
    asps = {a.code: a for a in Asp.objects.all()}
    default_asp = asps.get(source)
    resolved: list[tuple[ConversionIn, Asp, str]] = []
    seen: dict[tuple[int, str], int | None] = {}
    for line in lines:
        asp = default_asp
        if line.asp:
            asp = asps.get(line.asp.strip().lower()) or asps.get(line.asp.strip())
            if asp is None:
                errors.add(line.row, "asp", _("No ASP with code %(code)s.") % {"code": line.asp})
                continue
        if asp is None:
            errors.add(
                line.row,
                "asp",
                _("Which ASP? Give an asp column, or the ASP's code as the import's source."),
            )
            continue
        status = parse_status(line.status)
        if line.status is None:
            errors.add(line.row, "status", _("A value is required."))
        elif status is None:
            errors.add(
                line.row,
                "status",
                _("%(value)s is not a result status (発生, 確定 or 否認).") % {"value": line.status},
            )
        for name in REQUIRED:
            if name != "status" and getattr(line, name) is None:
                errors.add(line.row, name, _("A value is required."))
        if line.asp_conversion_id is not None:
            key = (asp.pk, line.asp_conversion_id)
            if key in seen:
                errors.add(
                    line.row,
                    "asp_conversion_id",
                    _("Duplicate result id %(id)s: it is also in row %(row)s.")
                    % {"id": line.asp_conversion_id, "row": seen[key]},
                )
            else:
                seen[key] = line.row
        if status is not None and status in DECIDED and line.decided_at is None:
            errors.add(line.row, "decided_at", _("A decided result (確定 or 否認) needs the time it was decided."))
        if status is not None:
            resolved.append((line, asp, status))

    offers = _offers_by_program({(asp.pk, line.asp_offer_id) for line, asp, _s in resolved if line.asp_offer_id})
    users = _users_by_external_id({line.user for line, _a, _s in resolved if line.user}, source)
    clicks = _click_users({line.click_id for line, _a, _s in resolved if line.click_id and not line.user})
    existing = _existing({(asp.pk, line.asp_conversion_id) for line, asp, _s in resolved if line.asp_conversion_id})

    now = timezone.now()
    new: list[Conversion] = []
    changed: list[tuple[Conversion, dict[str, Any]]] = []
    unchanged = 0
    for line, asp, status in resolved:
        offer = offers.get((asp.pk, line.asp_offer_id or ""))
        if offer is None and line.asp_offer_id:
            errors.add(
                line.row,
                "asp_offer_id",
                _("No offer with program id %(id)s at %(asp)s.") % {"id": line.asp_offer_id, "asp": asp.name},
            )
        user_id: int | None = None
        if line.user:
            found = users.get(line.user)
            if found is None:
                errors.add(line.row, "user", _("No end user with id %(id)s.") % {"id": line.user})
            elif found == -1:
                errors.add(
                    line.row,
                    "user",
                    _("End user id %(id)s is used in several sources; import with the users' source.")
                    % {"id": line.user},
                )
            else:
                user_id = found
        elif line.click_id:
            user_id = clicks.get(line.click_id)
        if offer is None or line.asp_conversion_id is None or line.occurred_at is None or line.reward is None:
            continue
        current = existing.get((asp.pk, line.asp_conversion_id))
        values: dict[str, Any] = {
            "offer_id": offer.pk,
            "click_id": line.click_id or "",
            "occurred_at": line.occurred_at,
            "decided_at": line.decided_at if status in DECIDED else None,
            "status": status,
            "order_amount": line.order_amount or 0,
            "reward": line.reward,
            "cashback": cashback_for(line.reward, offer.cashback_share, status),
            "end_user_id": user_id,
        }
        if current is None:
            new.append(Conversion(asp=asp, asp_conversion_id=line.asp_conversion_id, **values))
            continue
        if user_id is None:  # no user named and no click found this time: keep the one matched before
            values["end_user_id"] = current.end_user_id
        if current.status in DECIDED:
            if status != current.status:
                errors.add(
                    line.row,
                    "status",
                    _("Result %(id)s was already decided as %(was)s; a report can't change it to %(now)s.")
                    % {
                        "id": line.asp_conversion_id,
                        "was": current.get_status_display(),
                        "now": ConversionStatus(status).label,
                    },
                )
                continue
            if line.reward != current.reward:
                errors.add(
                    line.row,
                    "reward",
                    _("Result %(id)s is decided with a reward of %(was)s yen; a report can't change it to %(now)s.")
                    % {"id": line.asp_conversion_id, "was": f"{current.reward:,}", "now": f"{line.reward:,}"},
                )
                continue
            values["cashback"] = current.cashback  # what the user was told when it was decided
        dirty = {name: value for name, value in values.items() if getattr(current, name) != value}
        if not dirty:
            unchanged += 1
            continue
        changed.append((current, dirty))
    if errors.items:
        ordered = sorted(errors.items, key=lambda e: e["row"] or 0)
        raise ImportRefused(ordered, total_rows=len(lines))

    advertiser_of = {offer.pk: offer.advertiser_id for offer in offers.values()}
    audit: list[AuditEntry] = []
    with transaction.atomic():
        for obj in new:
            obj.imported_at = obj.updated_at = now
        Conversion.objects.bulk_create(new, batch_size=WRITE_BATCH)
        if any(obj.pk is None for obj in new):  # databases that return no ids from a bulk insert
            _fill_pks(new)
        updated: list[Conversion] = []
        for obj, dirty in changed:
            before = {name: _plain(getattr(obj, name)) for name in dirty}
            for name, value in dirty.items():
                setattr(obj, name, value)
            obj.updated_at = now
            updated.append(obj)
            after = {name: _plain(value) for name, value in dirty.items()}
            audit.append(_audit(obj, AuditAction.UPDATE, before, after, actor, via, advertiser_of[obj.offer_id]))
        if updated:
            update_rows(updated, [*TRACKED, "updated_at"])
        for obj in new:
            after = {n: _plain(getattr(obj, n)) for n in TRACKED}
            audit.append(_audit(obj, AuditAction.CREATE, {}, after, actor, via, advertiser_of[obj.offer_id]))
        record_changes_bulk(audit)
    return ImportResult(total_rows=len(lines), created=len(new), updated=len(changed), unchanged=unchanged)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _audit(
    obj: Conversion,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: User | None,
    via: str,
    account_id: int | None,
) -> AuditEntry:
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        via=via,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=f"{obj.asp_id}:{obj.asp_conversion_id}"[:200],
        account_id=account_id,
        changes=diff(before, after),
    )


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(values)
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


def _offers_by_program(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Offer]:
    out: dict[tuple[int, str], Offer] = {}
    by_asp: dict[int, set[str]] = {}
    for asp_id, program in keys:
        by_asp.setdefault(asp_id, set()).add(program)
    for asp_id, programs in by_asp.items():
        for chunk in _chunks(programs):
            for offer in Offer.objects.filter(asp_id=asp_id, asp_offer_id__in=chunk).only(
                "pk", "asp_id", "asp_offer_id", "cashback_share", "advertiser_id"
            ):
                out[(asp_id, offer.asp_offer_id)] = offer
    return out


def _users_by_external_id(ids: set[str], source: str) -> dict[str, int]:
    """External id → end user pk; -1 where several sources use the id and none is the import's source."""
    found: dict[str, dict[str, int]] = {}
    for chunk in _chunks(ids):
        for ext, src, pk in EndUser.objects.filter(external_id__in=chunk).values_list("external_id", "source", "pk"):
            found.setdefault(ext, {})[src] = pk
    out: dict[str, int] = {}
    for ext, by_source in found.items():
        if source in by_source:
            out[ext] = by_source[source]
        elif len(by_source) == 1:
            out[ext] = next(iter(by_source.values()))
        else:
            out[ext] = -1
    return out


def click_events(click_ids: Iterable[str]) -> QuerySet[Event]:
    """The media's offer_click events carrying any of `click_ids` (their properties' click_id)."""
    return (
        Event.objects.filter(kind=CLICK_KIND)
        # As text (a CharField lookup): a JSON key lookup would read the wanted ids as JSON on SQLite.
        .annotate(click=Cast(KeyTextTransform("click_id", "properties"), CharField()))
        .filter(click__in=list(click_ids))
    )


def _click_users(click_ids: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(click_ids):
        found = click_events(chunk).filter(end_user__isnull=False)
        for click, user_id in found.values_list("click", "end_user_id"):  # type: ignore[misc]  # annotation
            out[click] = user_id
    return out


def _existing(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Conversion]:
    out: dict[tuple[int, str], Conversion] = {}
    by_asp: dict[int, set[str]] = {}
    for asp_id, ext in keys:
        by_asp.setdefault(asp_id, set()).add(ext)
    for asp_id, ids in by_asp.items():
        for chunk in _chunks(ids):
            for obj in Conversion.objects.filter(asp_id=asp_id, asp_conversion_id__in=chunk).select_related("offer"):
                out[(asp_id, obj.asp_conversion_id)] = obj
    return out


def _fill_pks(objs: list[Conversion]) -> None:
    by_asp: dict[int, list[Conversion]] = {}
    for obj in objs:
        by_asp.setdefault(obj.asp_id, []).append(obj)
    for asp_id, group in by_asp.items():
        pks: dict[str, int] = {}
        for chunk in _chunks({o.asp_conversion_id for o in group}):
            pks.update(
                Conversion.objects.filter(asp_id=asp_id, asp_conversion_id__in=chunk).values_list(
                    "asp_conversion_id", "pk"
                )
            )
        for obj in group:
            obj.pk = pks[obj.asp_conversion_id]


# Listing -------------------------------------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[00:00 on the 1st, 00:00 on the 1st of the next month), Tokyo."""
    start = dt.datetime(month.year, month.month, 1, tzinfo=TOKYO)
    following = dt.datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=TOKYO)
    return start, following


def parse_month(text: str | None) -> dt.date | None:
    """ "2026-11" → 2026-11-01; None when not a month (the accounts area's reading of YYYY-MM)."""
    try:
        return accounts_parse_month((text or "").strip())[0]
    except ValueError:
        return None


def this_month() -> dt.date:
    return timezone.localtime(timezone.now(), TOKYO).date().replace(day=1)


@dataclass
class ConversionFilter:
    offer: int | None = None
    asp: str = ""
    status: str = ""
    month: dt.date | None = None
    user: str = ""  # the end user's external id


def filter_conversions(f: ConversionFilter) -> QuerySet[Conversion]:
    qs = Conversion.objects.all()
    if f.offer:
        qs = qs.filter(offer_id=f.offer)
    if f.asp:
        qs = qs.filter(asp__code=f.asp)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.month:
        start, end = month_bounds(f.month)
        qs = qs.filter(occurred_at__gte=start, occurred_at__lt=end)
    if f.user:
        qs = qs.filter(end_user__external_id=f.user)
    return qs


def totals(qs: QuerySet[Conversion]) -> dict[str, int]:
    """Counts and yen sums of a filtered list (its totals row)."""
    sums = qs.order_by().aggregate(
        count=Count("pk"),
        pending=Count("pk", filter=Q(status=ConversionStatus.PENDING)),
        approved=Count("pk", filter=Q(status=ConversionStatus.APPROVED)),
        rejected=Count("pk", filter=Q(status=ConversionStatus.REJECTED)),
        order_amount=Sum("order_amount"),
        reward=Sum("reward"),
        cashback=Sum("cashback"),
    )
    return {k: int(v or 0) for k, v in sums.items()}


def mark_cashback_paid(conversion_ids: Iterable[int], *, actor: User | None, at: dt.datetime | None = None) -> int:
    """Record that the cashback of these approved, unpaid results was paid; returns how many. Audited."""
    at = at or timezone.now()
    with transaction.atomic():
        rows = list(
            Conversion.objects.select_for_update()
            .filter(
                pk__in=list(conversion_ids),
                status=ConversionStatus.APPROVED,
                cashback_paid_at__isnull=True,
            )
            .select_related("offer")
        )
        for obj in rows:
            obj.cashback_paid_at = at
        update_rows(rows, ["cashback_paid_at"])
        record_changes_bulk(
            [
                _audit(
                    obj,
                    AuditAction.UPDATE,
                    {"cashback_paid_at": None},
                    {"cashback_paid_at": at.isoformat()},
                    actor,
                    "ui",
                    obj.offer.advertiser_id,
                )
                for obj in rows
            ]
        )
    return len(rows)
