"""First-response pages: the live queue of applicants waiting for a first contact (polled every 15 s), the
"contacted" button, and how response time relates to reaching the next stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core import charts
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import responses
from .models import ApplicantResponse, Funnel

RELATION_DAYS = 180


def _funnel(request: HttpRequest) -> Funnel | None:
    raw = request.GET.get("funnel", "")
    if raw.isdigit():
        return get_object_or_404(Funnel.objects.exclude(response_event_kind=""), pk=int(raw))
    return responses.default_funnel()


def _queue_context(request: HttpRequest, funnel: Funnel) -> dict[str, Any]:
    user = request.user if isinstance(request.user, User) else None
    mine = request.GET.get("mine") == "1"
    raw_account = request.GET.get("account", "")
    account_id = int(raw_account) if raw_account.isdigit() else None
    rows, total = responses.queue(funnel, owner=user if mine else None, account_id=account_id)
    return {
        "funnel": funnel,
        "rows": rows,
        "total": total,
        "mine": mine,
        "account_id": account_id,
        "query": request.GET.urlencode(),
        "can_contact": has_capability(request.user, Capability.WORK_TASKS),
        "now": timezone.now(),
    }


@requires(Capability.VIEW_ACCOUNTS)
def response_queue(request: HttpRequest) -> HttpResponse:
    funnel = _funnel(request)
    if funnel is None:
        return render(request, "funnels/responses.html", {"funnel": None})
    responses.sync(funnel, responses.PAGE_SYNC_EVENTS, wait=False)
    context = _queue_context(request, funnel)
    recent = timezone.now() - dt.timedelta(days=responses.QUEUE_DAYS)
    waiting_clients = responses.waiting_rows(funnel).filter(applied_at__gte=recent).values("account_id")
    context["clients"] = Account.objects.filter(pk__in=waiting_clients).order_by("name_kana").only("pk", "name")
    return render(request, "funnels/responses.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def response_queue_rows(request: HttpRequest) -> HttpResponse:
    """The queue table alone, polled by htmx every 15 s (after a sync, so new applicants appear)."""
    funnel = _funnel(request)
    if funnel is None:
        raise Http404
    responses.sync(funnel, responses.PAGE_SYNC_EVENTS, wait=False)
    return render(request, "funnels/_response_queue.html", _queue_context(request, funnel))


@requires(Capability.WORK_TASKS)
@require_POST
def response_contacted(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(ApplicantResponse.objects.select_related("funnel", "account", "end_user"), pk=pk)
    actor = request.user if isinstance(request.user, User) else None
    recorded = responses.record_contact(row, actor)
    if not recorded:
        row.refresh_from_db()
    if request.headers.get("HX-Request"):
        return render(request, "funnels/_response_done.html", {"row": row, "recorded": recorded})
    return redirect("funnels:responses")


def _parse_day(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


@requires(Capability.VIEW_ACCOUNTS)
def response_relation(request: HttpRequest) -> HttpResponse:
    funnel = _funnel(request)
    if funnel is None:
        return render(request, "funnels/response_relation.html", {"funnel": None})
    today = timezone.localdate()
    until = _parse_day(request.GET.get("until"), today)
    since = _parse_day(request.GET.get("since"), until - dt.timedelta(days=RELATION_DAYS))
    result = responses.relation(funnel, since, until)
    labels = [b.label for b in result.buckets]
    rates = [None if b.rate is None else round(b.rate * 100, 1) for b in result.buckets]
    chart = charts.bar_chart(labels, [charts.series(_("Share reaching the next stage"), rates)], y_title="%")
    context = {"funnel": funnel, "result": result, "since": since, "until": until, "chart": chart}
    return render(request, "funnels/response_relation.html", context)
