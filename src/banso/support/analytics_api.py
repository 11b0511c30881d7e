"""The support desk's analytics JSON API (mounted by api.py at /api/support/analytics): the inquiry analytics
report (JSON and XLSX), the category tree and its import, inquiry types, the classifier (runs, training,
confirming a type) and improvement requests with their effect. Rates are fractions (0.25 = 25 %); business
minutes are floats; bad input answers 422 naming the field (or the file's row)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability
from banso.core.xlsx import XLSX

from . import analytics, categories, classify, improvements
from .desk import DeskError
from .models import Category, ClassifierRun, ImprovementRequest, Inquiry, InquiryType

router = Router(tags=["support"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_INQUIRIES)
MANAGE = role(Capability.MANAGE_SUPPORT)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _period(request: HttpRequest) -> analytics.Period:
    get = request.GET
    return analytics.parse_period(get.get("from"), get.get("to"), get.get("grain"))


@router.get("/report", response={200: dict[str, Any], 422: ErrorOut}, auth=VIEW)
def report(request: HttpRequest) -> Any:
    """Volume by type/channel/category and over time, growing types, response times, chatbot self-resolution.
    Query: from, to (YYYY-MM-DD, Asia/Tokyo days; default the last 12 weeks), grain (day, week, month)."""
    try:
        period = _period(request)
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(200, analytics.as_json(analytics.report(period)))


@router.get("/report/xlsx", response={200: None, 422: ErrorOut}, auth=VIEW)
def report_xlsx(request: HttpRequest) -> Any:
    try:
        period = _period(request)
    except DeskError as error:
        return refused([(error.field, error.message)])
    response = HttpResponse(analytics.workbook(analytics.report(period)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="inquiry-analytics-{period.start:%Y%m%d}.xlsx"'
    return response


# Categories and types -----------------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    path: str
    parent_id: int | None
    active: bool


class ImportOut(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int


class TypeOut(Schema):
    id: int
    name: str
    group: str
    active: bool


@router.get("/categories", response=list[CategoryOut], auth=VIEW)
def category_list(request: HttpRequest) -> Any:
    return list(Category.objects.order_by("path"))


@router.post("/categories/import", response={200: ImportOut, 422: ErrorOut}, auth=MANAGE)
def category_import(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """CSV (UTF-8 or cp932) or XLSX with columns code, name, parent_code; all or nothing. Errors name the row
    as `row N`."""
    try:
        result = categories.import_categories(file.read(), file.name or "", actor=_actor(request))
    except categories.CategoryImportError as error:
        return refused([(f"row {row}", message) for row, message in error.errors])
    return Status(200, result)


@router.get("/types", response=list[TypeOut], auth=VIEW)
def type_list(request: HttpRequest) -> Any:
    return list(InquiryType.objects.all())


# Classifier ---------------------------------------------------------------------------------------------


class RunOut(Schema):
    id: int
    trained_at: Any
    samples: int
    types: int
    accuracy: float | None
    macro_f1: float | None
    active: bool


class ClassifierOut(Schema):
    runs: list[RunOut]
    acceptance: dict[str, Any]


class ConfirmIn(Schema):
    type_id: int


class InquiryTypeOut(Schema):
    id: int
    number: int
    inquiry_type_id: int | None
    suggested_type_id: int | None
    suggested_confidence: float | None


class TrainingOut(Schema):
    id: int
    status: str


@router.get("/classifier", response=ClassifierOut, auth=VIEW)
def classifier(request: HttpRequest) -> Any:
    return {"runs": list(ClassifierRun.objects.all()[:20]), "acceptance": classify.acceptance()}


@router.post("/classifier/train", response={202: TrainingOut}, auth=MANAGE)
def classifier_train(request: HttpRequest) -> Any:
    """Queue a training for the worker (or answer the one already waiting)."""
    run = classify.pending_training() or classify.start_training(actor=_actor(request), as_of=timezone.localdate())
    return Status(202, run)


@router.post("/inquiries/{int:inquiry_id}/type", response={200: InquiryTypeOut, 422: ErrorOut}, auth=WORK)
def confirm_type(request: HttpRequest, inquiry_id: int, payload: ConfirmIn) -> Any:
    """Confirm (or correct) an inquiry's type; the next training learns from it."""
    inquiry = get_object_or_404(Inquiry, pk=inquiry_id)
    inquiry_type = InquiryType.objects.filter(pk=payload.type_id, active=True).first()
    if inquiry_type is None:
        return refused([("type_id", f"no active inquiry type {payload.type_id}")])
    return Status(200, classify.confirm(inquiry, inquiry_type, _actor(request), via="api"))


# Improvement requests -----------------------------------------------------------------------------------


class ImprovementIn(Schema):
    title: str
    description: str = ""
    target: str = "product"
    type_ids: list[int] = []
    inquiry_ids: list[int] = []


class ImprovementOut(Schema):
    id: int
    title: str
    description: str
    target: str
    status: str
    created_at: Any
    shipped_at: Any | None
    type_ids: list[int]
    inquiry_count: int


class ImprovementDetailOut(ImprovementOut):
    effect: dict[str, Any] | None


class StatusIn(Schema):
    status: str


class LinkIn(Schema):
    inquiry_ids: list[int]


def _out(item: ImprovementRequest, with_effect: bool = False) -> dict[str, Any]:
    out = {
        "id": item.pk,
        "title": item.title,
        "description": item.description,
        "target": item.target,
        "status": item.status,
        "created_at": item.created_at,
        "shipped_at": item.shipped_at,
        "type_ids": list(item.inquiry_types.values_list("pk", flat=True)),
        "inquiry_count": item.inquiries.count(),
    }
    if with_effect:
        effect = improvements.effect(item)
        out["effect"] = analytics.as_json(effect) if effect else None
    return out


@router.get("/improvements", response=list[ImprovementOut], auth=VIEW)
def improvement_list(request: HttpRequest) -> Any:
    return [_out(i) for i in ImprovementRequest.objects.all()[:500]]


@router.post("/improvements", response={201: ImprovementOut, 422: ErrorOut}, auth=WORK)
def improvement_create(request: HttpRequest, payload: ImprovementIn) -> Any:
    types = list(InquiryType.objects.filter(pk__in=payload.type_ids))
    if len(types) != len(set(payload.type_ids)):
        return refused([("type_ids", "unknown inquiry type")])
    inquiries = list(Inquiry.objects.filter(pk__in=payload.inquiry_ids))
    if len(inquiries) != len(set(payload.inquiry_ids)):
        return refused([("inquiry_ids", "unknown inquiry")])
    try:
        item = improvements.create_request(
            title=payload.title,
            description=payload.description,
            target=payload.target,
            types=types,
            inquiries=inquiries,
            actor=_actor(request),
            via="api",
        )
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(201, _out(item))


@router.get("/improvements/{int:item_id}", response=ImprovementDetailOut, auth=VIEW)
def improvement_detail(request: HttpRequest, item_id: int) -> Any:
    """The request with its effect: weekly volume of its types before and after shipping."""
    return _out(get_object_or_404(ImprovementRequest, pk=item_id), with_effect=True)


@router.post("/improvements/{int:item_id}/status", response={200: ImprovementOut, 422: ErrorOut}, auth=MANAGE)
def improvement_status(request: HttpRequest, item_id: int, payload: StatusIn) -> Any:
    item = get_object_or_404(ImprovementRequest, pk=item_id)
    try:
        improvements.set_status(item, payload.status, actor=_actor(request), via="api")
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(item))


@router.post("/improvements/{int:item_id}/inquiries", response={200: ImprovementOut, 422: ErrorOut}, auth=WORK)
def improvement_link(request: HttpRequest, item_id: int, payload: LinkIn) -> Any:
    item = get_object_or_404(ImprovementRequest, pk=item_id)
    inquiries = list(Inquiry.objects.filter(pk__in=payload.inquiry_ids))
    if len(inquiries) != len(set(payload.inquiry_ids)):
        return refused([("inquiry_ids", "unknown inquiry")])
    improvements.link_inquiries(item, inquiries, actor=_actor(request), via="api")
    return Status(200, _out(item))
