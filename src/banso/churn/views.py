"""Churn pages: the overview, churn records (list, record, edit), the reason taxonomy and the churn analysis
with its XLSX download. Each reads and writes through `services` and `analysis`."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account, Contract
from banso.core.calendar import month_start
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import analysis, exports, services
from .forms import AnalysisForm, ChurnRecordForm, ReasonForm
from .models import ChurnReason, ChurnRecord


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    period = analysis.default_period()
    recent = ChurnRecord.objects.filter(churned_on__gt=month_start(period.end, -11))
    context = {
        "recent_count": recent.count(),
        "unrecorded_count": services.contracts_without_record(None).count(),
        "latest": services.record_queryset(services.RecordFilters())[:10],
        "can_record": has_capability(request.user, Capability.RECORD_CHURN),
    }
    return render(request, "churn/index.html", context)


# --- Records ----------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def record_list(request: HttpRequest) -> HttpResponse:
    form = AnalysisForm(request.GET or None)
    filters = services.RecordFilters(reason_id=_int(request.GET.get("reason")))
    if form.is_bound and form.is_valid():
        period, account_filters, _cohort = form.query()
        dated = bool(request.GET.get("start") or request.GET.get("end"))
        filters = services.RecordFilters(
            start=period.start if dated else None,
            end=period.stop - datetime.timedelta(days=1) if dated else None,
            reason_id=_int(request.GET.get("reason")),
            tier=account_filters.tier,
            industry=account_filters.industry,
            owner_id=account_filters.owner_id,
        )
    page = Paginator(services.record_queryset(filters), services.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "reasons": services.reason_tree(),
        "reason_id": filters.reason_id,
        "unrecorded": services.contracts_without_record(20),
        "unrecorded_count": services.contracts_without_record(None).count(),
        "can_record": has_capability(request.user, Capability.RECORD_CHURN),
    }
    return render(request, "churn/records.html", context)


@requires(Capability.RECORD_CHURN)
def record_create(request: HttpRequest) -> HttpResponse:
    contract = None
    if _int(request.GET.get("contract")):
        contract = get_object_or_404(Contract.objects.select_related("account"), pk=_int(request.GET.get("contract")))
    account_id = contract.account_id if contract else _int(request.GET.get("account") or request.POST.get("account"))
    account = get_object_or_404(Account, pk=account_id) if account_id else None
    if account is None:
        return _pick_account(request)
    initial: dict[str, Any] = {}
    if contract is not None:
        initial = {"contract": contract.pk, "churned_on": contract.churned_on}
        reason, sub = services.reason_for_text(contract.churn_reason) if contract.churn_reason else (None, None)
        if reason is not None:
            initial.update(reason=reason.pk, sub_reason=sub.pk if sub else None)
    form = ChurnRecordForm(request.POST or None, account=account, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.record_churn(_actor(request), **form.values())
        except ValidationError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("The churn was recorded."))
            if request.GET.get("next") == "account":
                return redirect("accounts:detail", pk=record.account_id)
            return redirect("churn:records")
    return render(request, "churn/record_form.html", {"form": form, "account": account, "record": None})


def _pick_account(request: HttpRequest) -> HttpResponse:
    """Without an account: pick one by name, then come back with ?account=ID."""
    query = (request.GET.get("q") or "").strip()
    found: list[Account] = []
    if query:
        from banso.core.text import normalise

        found = list(Account.objects.filter(search_text__contains=normalise(query)).order_by("name_kana", "id")[:30])
    return render(request, "churn/record_pick.html", {"query": query, "found": found})


@requires(Capability.RECORD_CHURN)
def record_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(ChurnRecord.objects.select_related("account", "reason", "sub_reason"), pk=pk)
    initial = {
        "contract": record.contract_id,
        "churned_on": record.churned_on,
        "reason": record.reason_id,
        "sub_reason": record.sub_reason_id,
        "lost_mrr": str(record.lost_mrr),
        "note": record.note,
    }
    form = ChurnRecordForm(
        request.POST or None,
        account=record.account,
        current_reason=record.reason,
        current_sub=record.sub_reason,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        values = form.values()
        values.pop("account")
        if values.get("lost_mrr") is None:
            values["lost_mrr"] = record.lost_mrr
        try:
            services.update_record(record, _actor(request), **values)
        except ValidationError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("The churn record was saved."))
            return redirect("churn:records")
    return render(request, "churn/record_form.html", {"form": form, "account": record.account, "record": record})


@requires(Capability.RECORD_CHURN)
@require_POST
def record_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(ChurnRecord, pk=pk)
    services.delete_record(record, _actor(request))
    messages.success(request, _("The churn record was deleted; the contract stays churned."))
    return redirect("churn:records")


# --- Reasons ----------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def reason_list(request: HttpRequest) -> HttpResponse:
    context = {"tree": services.reason_tree(), "can_manage": has_capability(request.user, Capability.MANAGE_HEALTH)}
    return render(request, "churn/reasons.html", context)


@requires(Capability.MANAGE_HEALTH)
def reason_create(request: HttpRequest) -> HttpResponse:
    form = ReasonForm(request.POST or None, initial={"parent": _int(request.GET.get("parent"))})
    if request.method == "POST" and form.is_valid():
        try:
            services.create_reason(_actor(request), **form.cleaned_data)
        except ValidationError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("The reason was added."))
            return redirect("churn:reasons")
    return render(request, "churn/reason_form.html", {"form": form, "reason": None})


@requires(Capability.MANAGE_HEALTH)
def reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reason = get_object_or_404(ChurnReason, pk=pk)
    initial = {
        "parent": reason.parent_id,
        "code": reason.code,
        "name": reason.name,
        "order": reason.order,
        "is_active": reason.is_active,
    }
    form = ReasonForm(request.POST or None, reason=reason, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_reason(reason, _actor(request), **form.cleaned_data)
        except ValidationError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("The reason was saved."))
            return redirect("churn:reasons")
    return render(request, "churn/reason_form.html", {"form": form, "reason": reason})


# --- Analysis ---------------------------------------------------------------------------------------------


def _analysis_query(request: HttpRequest) -> tuple[AnalysisForm, analysis.ChurnAnalysis | None]:
    form = AnalysisForm(request.GET)
    if not form.is_valid():
        return form, None
    period, filters, cohort_by = form.query()
    return form, analysis.cached_analyse(period, filters, cohort_by=cohort_by)


@requires(Capability.VIEW_ACCOUNTS)
def analysis_page(request: HttpRequest) -> HttpResponse:
    form, result = _analysis_query(request)
    context: dict[str, Any] = {"form": form, "result": result, "query": request.GET.urlencode()}
    if result is not None:
        context["charts"] = analysis.chart_configs(result)
    return render(request, "churn/analysis.html", context, status=200 if result is not None else 400)


@requires(Capability.VIEW_ACCOUNTS)
def analysis_export(request: HttpRequest) -> HttpResponse:
    form, result = _analysis_query(request)
    if result is None:
        return render(request, "churn/analysis.html", {"form": form, "result": None}, status=400)
    response = HttpResponse(exports.workbook_bytes(result), content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(result)}"'
    return response
