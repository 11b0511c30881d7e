"""Churn in the JSON API: the reason taxonomy, churn records (CRUD), churned contracts still lacking a
record, and the churn analysis as JSON or as the XLSX workbook.

Refused input answers 422 with `detail`: a list of {field, message}, the field named as in the request."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import analysis, exports, services
from .forms import AnalysisForm
from .models import ChurnReason, ChurnRecord

router = Router(tags=["churn"])
VIEW = role(Capability.VIEW_ACCOUNTS)
RECORD = role(Capability.RECORD_CHURN)
MANAGE = role(Capability.MANAGE_HEALTH)
MAX_PAGE_SIZE = 500


class ReasonOut(Schema):
    id: int
    parent_id: int | None
    code: str
    name: str
    order: int
    is_active: bool


class ReasonNodeOut(ReasonOut):
    children: list[ReasonOut]


class ReasonIn(Schema):
    parent_id: int | None = Field(None, description="a top-level reason's id for a sub-reason; null for a reason")
    code: str = Field(description="letters, digits, hyphens and underscores; unique")
    name: str
    order: int = 100
    is_active: bool = True


class RecordOut(Schema):
    id: int
    account_id: int
    account_name: str
    contract_id: int | None
    churned_on: dt.date
    reason_id: int
    reason: str
    sub_reason_id: int | None
    sub_reason: str | None
    note: str
    lost_mrr: int = Field(description="yen per month")
    recorded_by: str | None
    created_at: dt.datetime


class RecordIn(Schema):
    account_id: int | None = Field(None, description="required unless contract_id is given")
    contract_id: int | None = Field(None, description="the churned contract; marked churned if it is not yet")
    churned_on: dt.date | None = Field(None, description="defaults to the contract's churn date")
    reason_id: int
    sub_reason_id: int | None = None
    note: str = ""
    lost_mrr: int | None = Field(
        None, description="yen; defaults to the contract's MRR, or the account's MRR the day before the churn"
    )


class RecordUpdate(Schema):
    contract_id: int | None = None
    churned_on: dt.date
    reason_id: int
    sub_reason_id: int | None = None
    note: str = ""
    lost_mrr: int


class RecordPage(Schema):
    count: int
    page: int
    pages: int
    results: list[RecordOut]


class UnrecordedOut(Schema):
    contract_id: int
    account_id: int
    account_name: str
    plan: str
    mrr: int
    churned_on: dt.date | None
    churn_reason: str


class AnalysisQuery(Schema):
    start: str | None = Field(None, description="first month, YYYY-MM (default: 23 months before this month)")
    end: str | None = Field(None, description="last month, YYYY-MM (default: this month)")
    tier: str = ""
    industry: str = ""
    owner: int | None = Field(None, description="owner CSM's user id")
    cohort: Literal["year", "quarter"] = "year"


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


# Service field → API field, so a 422 names what the client sent.
API_FIELDS = {"account": "account_id", "contract": "contract_id", "reason": "reason_id", "sub_reason": "sub_reason_id"}
API_FIELDS_REASON = {"parent": "parent_id"}


def _refused(error: ValidationError, names: dict[str, str]) -> Status[dict[str, Any]]:
    return refused(validation_errors(error, names))


def _reason_out(reason: ChurnReason) -> dict[str, Any]:
    return {
        "id": reason.pk,
        "parent_id": reason.parent_id,
        "code": reason.code,
        "name": reason.name,
        "order": reason.order,
        "is_active": reason.is_active,
    }


def _record_out(record: ChurnRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "account_id": record.account_id,
        "account_name": record.account.name,
        "contract_id": record.contract_id,
        "churned_on": record.churned_on,
        "reason_id": record.reason_id,
        "reason": record.reason.name,
        "sub_reason_id": record.sub_reason_id,
        "sub_reason": record.sub_reason.name if record.sub_reason else None,
        "note": record.note,
        "lost_mrr": record.lost_mrr,
        "recorded_by": str(record.recorded_by) if record.recorded_by else None,
        "created_at": record.created_at,
    }


def _record(pk: int) -> ChurnRecord:
    return get_object_or_404(
        ChurnRecord.objects.select_related("account", "reason", "sub_reason", "recorded_by"), pk=pk
    )


# --- Reasons -------------------------------------------------------------------------------------------------


@router.get("/reasons", response=list[ReasonNodeOut], auth=VIEW)
def list_reasons(request: HttpRequest, active_only: bool = False) -> list[dict[str, Any]]:
    """The taxonomy: reasons in order, each with its sub-reasons."""
    return [
        {**_reason_out(node.reason), "children": [_reason_out(c) for c in node.children]}
        for node in services.reason_tree(active_only=active_only)
    ]


@router.post("/reasons", response={201: ReasonOut, 422: ErrorOut}, auth=MANAGE)
def create_reason(request: HttpRequest, payload: ReasonIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    data["parent"] = data.pop("parent_id")
    try:
        reason = services.create_reason(_actor(request), via="api", **data)
    except ValidationError as error:
        return _refused(error, API_FIELDS_REASON)
    return Status(201, _reason_out(reason))


@router.put("/reasons/{int:reason_id}", response={200: ReasonOut, 422: ErrorOut}, auth=MANAGE)
def update_reason(request: HttpRequest, reason_id: int, payload: ReasonIn) -> Status[dict[str, Any]]:
    reason = get_object_or_404(ChurnReason, pk=reason_id)
    data = payload.dict()
    data["parent"] = data.pop("parent_id")
    try:
        reason = services.update_reason(reason, _actor(request), via="api", **data)
    except ValidationError as error:
        return _refused(error, API_FIELDS_REASON)
    return Status(200, _reason_out(reason))


# --- Records -------------------------------------------------------------------------------------------------


@router.get("/records", response=RecordPage, auth=VIEW)
def list_records(
    request: HttpRequest,
    start: dt.date | None = None,
    end: dt.date | None = None,
    reason_id: int | None = None,
    account_id: int | None = None,
    tier: str = "",
    industry: str = "",
    owner: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """Churn records, newest first; `start`/`end` bound the churn date (inclusive)."""
    filters = services.RecordFilters(
        start=start, end=end, reason_id=reason_id, account_id=account_id, tier=tier, industry=industry, owner_id=owner
    )
    paginator = Paginator(services.record_queryset(filters), max(1, min(page_size, MAX_PAGE_SIZE)))
    found = paginator.get_page(page)
    return {
        "count": paginator.count,
        "page": found.number,
        "pages": paginator.num_pages,
        "results": [_record_out(r) for r in found.object_list],
    }


@router.post("/records", response={201: RecordOut, 422: ErrorOut}, auth=RECORD)
def create_record(request: HttpRequest, payload: RecordIn) -> Status[dict[str, Any]]:
    """Record a churn. A contract that is not churned yet is marked churned on `churned_on`."""
    data = payload.dict()
    values = {
        "account": data["account_id"],
        "contract": data["contract_id"],
        "churned_on": data["churned_on"],
        "reason": data["reason_id"],
        "sub_reason": data["sub_reason_id"],
        "note": data["note"],
        "lost_mrr": data["lost_mrr"],
    }
    try:
        record = services.record_churn(_actor(request), via="api", **values)
    except ValidationError as error:
        return _refused(error, API_FIELDS)
    return Status(201, _record_out(_record(record.pk)))


@router.get("/records/{int:record_id}", response=RecordOut, auth=VIEW)
def get_record(request: HttpRequest, record_id: int) -> dict[str, Any]:
    return _record_out(_record(record_id))


@router.put("/records/{int:record_id}", response={200: RecordOut, 422: ErrorOut}, auth=RECORD)
def update_record(request: HttpRequest, record_id: int, payload: RecordUpdate) -> Status[dict[str, Any]]:
    record = _record(record_id)
    data = payload.dict()
    values = {
        "contract": data["contract_id"],
        "churned_on": data["churned_on"],
        "reason": data["reason_id"],
        "sub_reason": data["sub_reason_id"],
        "note": data["note"],
        "lost_mrr": data["lost_mrr"],
    }
    try:
        services.update_record(record, _actor(request), via="api", **values)
    except ValidationError as error:
        return _refused(error, API_FIELDS)
    return Status(200, _record_out(_record(record_id)))


@router.delete("/records/{int:record_id}", response={204: None}, auth=RECORD)
def delete_record(request: HttpRequest, record_id: int) -> Status[None]:
    """Delete a churn record; the contract keeps its churned status."""
    services.delete_record(_record(record_id), _actor(request), via="api")
    return Status(204, None)


@router.get("/unrecorded-contracts", response=list[UnrecordedOut], auth=VIEW)
def unrecorded_contracts(request: HttpRequest, limit: int = 200) -> list[dict[str, Any]]:
    """Churned contracts without a churn record, newest churn first: what still needs a reason."""
    return [
        {
            "contract_id": c.pk,
            "account_id": c.account_id,
            "account_name": c.account.name,
            "plan": c.plan,
            "mrr": c.mrr,
            "churned_on": c.churned_on,
            "churn_reason": c.churn_reason,
        }
        for c in services.contracts_without_record(max(1, min(limit, 5000)))
    ]


# --- Analysis ------------------------------------------------------------------------------------------------


def _analysis(query: AnalysisQuery) -> analysis.ChurnAnalysis | Status[dict[str, Any]]:
    form = AnalysisForm({k: v for k, v in query.dict().items() if v not in (None, "")})
    if not form.is_valid():
        detail = [
            {"field": name, "message": str(message)} for name, messages in form.errors.items() for message in messages
        ]
        return Status(422, {"detail": detail})
    period, filters, cohort_by = form.query()
    return analysis.cached_analyse(period, filters, cohort_by=cohort_by)


@router.get("/analysis", response={200: dict[str, Any], 422: ErrorOut}, auth=VIEW)
def churn_analysis(request: HttpRequest, query: Query[AnalysisQuery]) -> Any:
    """Monthly churn and retention figures, reasons, attribute lift and retention curves for a period
    (rates as fractions, money in yen). Definitions: docs/CHURN.md."""
    result = _analysis(query)
    if isinstance(result, analysis.ChurnAnalysis):
        return Status(200, result.as_json())
    return result


@router.get("/analysis.xlsx", response={200: None, 422: ErrorOut}, auth=VIEW)
def churn_analysis_xlsx(request: HttpRequest, query: Query[AnalysisQuery]) -> Any:
    """The same analysis as an XLSX workbook, one sheet per table."""
    result = _analysis(query)
    if not isinstance(result, analysis.ChurnAnalysis):
        return result
    response = HttpResponse(exports.workbook_bytes(result), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(result)}"'
    return response


from .risk_api import risk_router  # noqa: E402  (the churn-risk model's endpoints)

router.add_router("/risk", risk_router)
