"""Month close in the JSON API: months with their close status, an open month's preview, closing a month
(queued, followed at /closes/runs/{id}), writing missing documents, statements with their lines, commission
rules, other charges and adjustments. Refusals answer 422 with `detail`: a list of {field, message}."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.accounts.services import parse_month
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import closing, commission, corrections
from .models import Adjustment, CloseStatus, CommissionRule, Invoice, MerchantCharge, MonthClose, Statement
from .tasks import write_documents_task

router = Router(tags=["billing"])
VIEW = role(Capability.VIEW_BILLING)
MANAGE = role(Capability.MANAGE_BILLING)
MAX_LIMIT = 500


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _month(text: str) -> dt.date | None:
    try:
        return parse_month(text)[0]
    except ValueError:
        return None


def _bad_month(text: str) -> Status[dict[str, Any]]:
    return refused([("month", _("Give the month as YYYY-MM (%(value)s given).") % {"value": text})])


class RunOut(Schema):
    id: int
    month: dt.date = Field(alias="as_of")
    status: str
    close_status: str
    percent: int
    step: str
    error: str
    merchants: int
    bookings: int
    documents: int
    closed_at: dt.datetime | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class MonthOut(Schema):
    month: dt.date
    closed: bool
    ended: bool
    run: RunOut | None
    sales: int | None
    commission: int | None
    payment_fees: int | None
    payout: int | None


class PreviewRowOut(Schema):
    merchant_id: int
    merchant_name: str
    bookings: int
    cancellations: int
    sales: int = Field(description="yen, tax included")
    sales_10: int
    sales_8: int
    refunds: int
    commission: int = Field(description="tax included")
    payment_fees: int = Field(description="tax included")
    charges: int = Field(description="tax included")
    adjustments: int
    invoice_total: int
    invoiced: bool
    payout: int = Field(description="negative: to bill the merchant")


class PreviewOut(Schema):
    month: dt.date
    can_close: bool
    refusal: str
    merchants: list[PreviewRowOut]


class StatementOut(Schema):
    id: int
    number: str
    month: dt.date
    merchant_id: int
    merchant_name: str
    bookings: int
    cancellations: int
    sales: int
    refunds: int
    commission: int
    payment_fees: int
    charges: int
    adjustments: int
    payout: int
    invoice_ids: list[int]


class StatementPageOut(Schema):
    count: int
    offset: int
    limit: int
    items: list[StatementOut]


class LineOut(Schema):
    kind: str
    booking_id: int | None
    date: dt.date
    description: str
    sales: int
    commission_rate: Decimal | None
    commission: int
    payment_fee: int
    net: int


class StatementDetailOut(StatementOut):
    lines_count: int
    offset: int
    limit: int
    lines: list[LineOut]


class RuleOut(Schema):
    id: int
    merchant_id: int | None
    plan: str
    commission_rate: Decimal
    payment_fee_rate: Decimal
    effective_from: dt.date
    effective_to: dt.date | None


class RuleIn(Schema):
    merchant_id: int | None = Field(None, description="none = the default rule for every merchant")
    plan: str = ""
    commission_rate: Decimal
    payment_fee_rate: Decimal
    effective_from: dt.date
    effective_to: dt.date | None = None


class RuleEndIn(Schema):
    effective_to: dt.date


class ChargeOut(Schema):
    id: int
    merchant_id: int
    month: dt.date
    description: str
    amount: int
    tax_rate: int


class ChargeIn(Schema):
    merchant_id: int
    month: str = Field(description="YYYY-MM (an open month)")
    description: str
    amount: int = Field(description="yen, tax excluded")
    tax_rate: int = Field(10, description="10 or 8 (reduced)")


class AdjustmentOut(Schema):
    id: int
    merchant_id: int
    month: dt.date
    kind: str
    booking_id: int | None
    original_month: dt.date | None
    description: str
    reason: str
    payout_amount: int
    commission_amount: int


class AdjustmentIn(Schema):
    merchant_id: int
    month: str = Field(description="YYYY-MM (an open month)")
    description: str
    reason: str
    payout_amount: int = Field(description="signed yen: positive pays more, negative less")


def _merchant(pk: int | None) -> Account | None:
    return Account.objects.filter(pk=pk, kind=AccountKind.MERCHANT).first() if pk else None


def _statement_out(s: Statement, invoice_ids: list[int]) -> dict[str, Any]:
    return {
        **{f: getattr(s, f) for f in StatementOut.model_fields if f not in ("id", "invoice_ids")},
        "id": s.pk,
        "invoice_ids": invoice_ids,
    }


# Months ----------------------------------------------------------------------------------------------------


@router.get("/closes", response=list[MonthOut], auth=VIEW)
def list_months(request: HttpRequest) -> list[dict[str, Any]]:
    """Recent months, newest first: closed or open, with totals once closed."""
    out = []
    for row in closing.month_summaries():
        totals = row["totals"] or {}
        out.append(
            {
                "month": row["month"],
                "closed": row["closed"],
                "ended": row["ended"],
                "run": row["run"],
                "sales": totals.get("sales"),
                "commission": totals.get("commission"),
                "payment_fees": totals.get("fees"),
                "payout": totals.get("payout"),
            }
        )
    return out


@router.get("/closes/{month}/preview", response={200: PreviewOut, 422: ErrorOut}, auth=VIEW)
def preview(request: HttpRequest, month: str) -> Status[Any]:
    """What closing the month would write, per merchant; nothing is written."""
    first = _month(month)
    if first is None:
        return _bad_month(month)
    if closing.closed_close(first) is not None:
        return refused([("month", _("%(month)s is closed: see its statements.") % {"month": f"{first:%Y-%m}"})])
    try:
        closing.check_can_close(first)
        refusal = ""
    except closing.CloseError as error:
        refusal = str(error)
    return Status(
        200, {"month": first, "can_close": not refusal, "refusal": refusal, "merchants": closing.preview(first)}
    )


@router.post("/closes/{month}/close", response={202: RunOut, 422: ErrorOut}, auth=MANAGE)
def close(request: HttpRequest, month: str) -> Status[Any]:
    """Queue the month's close for the worker; follow it at /closes/runs/{id}."""
    first = _month(month)
    if first is None:
        return _bad_month(month)
    running = closing.active_run(first)
    if running is not None:
        return Status(202, running)
    try:
        return Status(202, closing.start_close(first, _actor(request)))
    except closing.CloseError as error:
        return refused([("month", str(error))])


@router.get("/closes/runs/{int:run_id}", response=RunOut, auth=VIEW)
def run_status(request: HttpRequest, run_id: int) -> MonthClose:
    return get_object_or_404(MonthClose, pk=run_id)


@router.post("/closes/runs/{int:run_id}/documents", response={202: RunOut}, auth=MANAGE)
def write_documents(request: HttpRequest, run_id: int) -> Status[Any]:
    """Write the PDFs a closed month is still missing, in the background."""
    run = get_object_or_404(MonthClose, pk=run_id, close_status=CloseStatus.CLOSED)
    write_documents_task.enqueue(run.pk)
    return Status(202, run)


# Statements ------------------------------------------------------------------------------------------------


def _invoice_ids(statement_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for statement_id, invoice_id in Invoice.objects.filter(statement_id__in=statement_ids).values_list(
        "statement_id", "id"
    ):
        out.setdefault(statement_id, []).append(invoice_id)
    return out


@router.get("/statements", response={200: StatementPageOut, 422: ErrorOut}, auth=VIEW)
def list_statements(request: HttpRequest, month: str, q: str = "", offset: int = 0, limit: int = 100) -> Status[Any]:
    """A closed month's statements by merchant name; `q` searches the merchant name or statement number."""
    first = _month(month)
    if first is None:
        return _bad_month(month)
    statements = Statement.objects.filter(month=first).order_by("merchant_name", "id")
    if q.strip():
        statements = statements.filter(Q(merchant_name__icontains=q.strip()) | Q(number__icontains=q.strip()))
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_LIMIT)
    page = list(statements[offset : offset + limit])
    invoices = _invoice_ids([s.pk for s in page])
    return Status(
        200,
        {
            "count": statements.count(),
            "offset": offset,
            "limit": limit,
            "items": [_statement_out(s, invoices.get(s.pk, [])) for s in page],
        },
    )


@router.get("/statements/{int:statement_id}", response=StatementDetailOut, auth=VIEW)
def statement_detail(request: HttpRequest, statement_id: int, offset: int = 0, limit: int = 500) -> dict[str, Any]:
    """One statement with its lines (paged)."""
    statement = get_object_or_404(Statement, pk=statement_id)
    lines = statement.lines.order_by("date", "kind", "id")
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_LIMIT)
    return {
        **_statement_out(statement, _invoice_ids([statement.pk]).get(statement.pk, [])),
        "lines_count": lines.count(),
        "offset": offset,
        "limit": limit,
        "lines": list(lines[offset : offset + limit]),
    }


# Rules, charges, adjustments -------------------------------------------------------------------------------


@router.get("/rules", response=list[RuleOut], auth=VIEW)
def list_rules(request: HttpRequest, merchant_id: int | None = None) -> Any:
    rules = CommissionRule.objects.order_by("merchant_id", "plan", "-effective_from")
    return rules.filter(merchant_id=merchant_id) if merchant_id else rules


@router.post("/rules", response={201: RuleOut, 422: ErrorOut}, auth=MANAGE)
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[Any]:
    """Add a rule; an overlap with the same merchant and plan is refused naming the date field."""
    merchant = _merchant(payload.merchant_id)
    if payload.merchant_id and merchant is None:
        return refused([("merchant_id", _("No merchant %(id)s.") % {"id": payload.merchant_id})])
    try:
        rule = commission.create_rule(
            actor=_actor(request),
            merchant=merchant,
            plan=payload.plan,
            commission_rate=payload.commission_rate,
            payment_fee_rate=payload.payment_fee_rate,
            effective_from=payload.effective_from,
            effective_to=payload.effective_to,
            via="api",
        )
    except ValidationError as error:
        return refused(validation_errors(error, {"merchant": "merchant_id"}))
    return Status(201, rule)


@router.post("/rules/{int:rule_id}/end", response={200: RuleOut, 422: ErrorOut}, auth=MANAGE)
def end_rule(request: HttpRequest, rule_id: int, payload: RuleEndIn) -> Status[Any]:
    rule = get_object_or_404(CommissionRule, pk=rule_id)
    try:
        return Status(200, commission.end_rule(rule, payload.effective_to, actor=_actor(request), via="api"))
    except ValidationError as error:
        return refused(validation_errors(error))


@router.get("/charges", response=list[ChargeOut], auth=VIEW)
def list_charges(request: HttpRequest, month: str = "") -> Any:
    charges = MerchantCharge.objects.order_by("-month", "merchant_id", "id")
    first = _month(month) if month else None
    return charges.filter(month=first)[:MAX_LIMIT] if first else charges[:MAX_LIMIT]


@router.post("/charges", response={201: ChargeOut, 422: ErrorOut}, auth=MANAGE)
def create_charge(request: HttpRequest, payload: ChargeIn) -> Status[Any]:
    try:
        charge = corrections.add_charge(
            actor=_actor(request),
            merchant=_merchant(payload.merchant_id),
            month=_month(payload.month),
            description=payload.description,
            amount=payload.amount,
            tax_rate=payload.tax_rate,
            via="api",
        )
    except ValidationError as error:
        return refused(validation_errors(error, {"merchant": "merchant_id"}))
    return Status(201, charge)


@router.get("/adjustments", response=list[AdjustmentOut], auth=VIEW)
def list_adjustments(request: HttpRequest, month: str = "") -> Any:
    adjustments = Adjustment.objects.order_by("-month", "merchant_id", "id")
    first = _month(month) if month else None
    return adjustments.filter(month=first)[:MAX_LIMIT] if first else adjustments[:MAX_LIMIT]


@router.post("/adjustments", response={201: AdjustmentOut, 422: ErrorOut}, auth=MANAGE)
def create_adjustment(request: HttpRequest, payload: AdjustmentIn) -> Status[Any]:
    """A manual correction of a payout, settled in an open month, with its reason (audited)."""
    try:
        adjustment = corrections.add_adjustment(
            actor=_actor(request),
            merchant=_merchant(payload.merchant_id),
            month=_month(payload.month),
            description=payload.description,
            reason=payload.reason,
            payout_amount=payload.payout_amount,
            via="api",
        )
    except ValidationError as error:
        return refused(validation_errors(error, {"merchant": "merchant_id"}))
    return Status(201, adjustment)
