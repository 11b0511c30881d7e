"""Pages for touches, My day and the renewal pipeline. Each reads and writes through `touches`, `queue` and
`renewals`; htmx requests get the partial they swap in."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.forms import AccountFilterForm
from banso.accounts.models import Account
from banso.accounts.services import PAGE_SIZE, AccountFilters, account_queryset, owner_choices
from banso.core.calendar import month_start
from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import queue, renewals, touches
from .models import Renewal, RenewalStage, Touch
from .panels import account_card
from .services import local_midnight, parse_month_param
from .touch_forms import BulkTouchForm, RenewalStageForm, TouchFilterForm, TouchForm

QUEUE_PAGE = 20
LOG_PAGE = 50


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _add_errors(form: Any, exc: ValidationError) -> None:
    """A service's refusal on the form: on the field it names when the form has one, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# My day ------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def my_day(request: HttpRequest) -> HttpResponse:
    """The signed-in CSM's queue; a manager may pick a CSM (`?csm=<id>`) or see the team (`?csm=team`)."""
    today = timezone.localdate()
    user = _actor(request)
    manager = has_capability(request.user, Capability.PLAN_COVERAGE)
    chosen = request.GET.get("csm", "")
    if manager and chosen == "team":
        return render(request, "success/my_day.html", {"team": queue.team(today), "manager": True, "today": today})
    if manager and chosen.isdigit():
        user = get_object_or_404(User, pk=int(chosen))
    planned = Paginator(queue.planned(user, today), QUEUE_PAGE).get_page(request.GET.get("planned_page"))
    follow = Paginator(queue.follow_ups(user, today), QUEUE_PAGE).get_page(request.GET.get("follow_page"))
    breach = Paginator(queue.breaching(user, today), QUEUE_PAGE).get_page(request.GET.get("breach_page"))
    rows: list[Any] = [*planned, *follow, *breach]
    primaries = touches.primary_contacts([getattr(row, "account_id", row.pk) for row in rows])
    for row in rows:
        row.primary = primaries.get(getattr(row, "account_id", row.pk))
    for name, found in (("planned_page", planned), ("follow_page", follow), ("breach_page", breach)):
        _page_links(request, found, name)
    context = {
        "person": user,
        "today": today,
        "manager": manager,
        "csms": owner_choices() if manager else [],
        "planned": planned,
        "follow_ups": follow,
        "breaching": breach,
        "rules": touches.untouched_days(),
        "can_log": has_capability(request.user, Capability.LOG_TOUCHES),
        "outcomes": TouchForm.base_fields["outcome"].choices,  # type: ignore[attr-defined]
        "channels": TouchForm.base_fields["channel"].choices,  # type: ignore[attr-defined]
    }
    return render(request, "success/my_day.html", context)


def _page_links(request: HttpRequest, page: Any, param: str) -> None:
    """Each queue pages on its own: its links keep the other lists' pages."""
    previous = page.previous_page_number() if page.has_previous() else None
    following = page.next_page_number() if page.has_next() else None
    for attr, number in (("prev_url", previous), ("next_url", following)):
        query = request.GET.copy()
        query[param] = str(number)
        setattr(page, attr, query.urlencode() if number else "")


@requires(Capability.LOG_TOUCHES)
@require_POST
def touch_quick(request: HttpRequest) -> HttpResponse:
    """One-click logging from a queue row: the row is replaced by what was logged, or by the form with errors."""
    account = get_object_or_404(Account, pk=request.POST.get("account") or 0)
    form = TouchForm(request.POST, account=account)
    touch = None
    if form.is_valid():
        try:
            touch = touches.log_touch(account, _actor(request), **form.service_kwargs())
        except ValidationError as exc:
            _add_errors(form, exc)
    return render(request, "success/_queue_logged.html", {"account": account, "touch": touch, "form": form})


# The Account 360 card ----------------------------------------------------------------------------------


@requires(Capability.LOG_TOUCHES)
def touch_form(request: HttpRequest, account_id: int) -> HttpResponse:
    """The card's form again (htmx, when the outcome changes): with the successor fields for a change of
    contact person."""
    account = get_object_or_404(Account, pk=account_id)
    initial = {k: v for k, v in request.GET.items() if k in TouchForm.base_fields}
    form = TouchForm(initial=initial, account=account)
    return render(request, "success/_touch_form.html", {"panel": {"account": account, "form": form}})


@requires(Capability.LOG_TOUCHES)
@require_POST
def touch_create(request: HttpRequest, account_id: int) -> HttpResponse:
    """Log a touch from the Account 360. Done, the whole 360 reloads (a successor changes the contacts card
    too); refused, the card comes back with the errors."""
    account = get_object_or_404(Account, pk=account_id)
    form = TouchForm(request.POST, account=account)
    if form.is_valid():
        try:
            touches.log_touch(account, _actor(request), **form.service_kwargs())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The touch was logged."))
            target = reverse("accounts:detail", args=[account.pk])
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
    # htmx swaps only successful responses: the refused form comes back with 200.
    return render(request, "success/_account_card.html", {"panel": account_card(account, form)})


# The touch log, one touch, bulk ------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def touch_list(request: HttpRequest) -> HttpResponse:
    form = TouchFilterForm(request.GET or None)
    rows = Touch.objects.select_related("account", "csm", "contact")
    if form.is_valid():
        data = form.cleaned_data
        if data["csm"]:
            rows = rows.filter(csm=data["csm"])
        if data["outcome"]:
            rows = rows.filter(outcome=data["outcome"])
        if data["channel"]:
            rows = rows.filter(channel=data["channel"])
        if data["since"]:
            rows = rows.filter(occurred_at__gte=local_midnight(data["since"]))
        if data["until"]:
            rows = rows.filter(occurred_at__lt=local_midnight(data["until"] + dt.timedelta(days=1)))
    page = Paginator(IdFirstList(rows.order_by("-occurred_at", "-id")), LOG_PAGE).get_page(request.GET.get("page"))
    return render(request, "success/touch_list.html", {"form": form, "page": page})


@requires(Capability.VIEW_ACCOUNTS)
def touch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    touch = get_object_or_404(
        Touch.objects.select_related("account", "csm", "contact", "successor", "target", "created_by"), pk=pk
    )
    return render(
        request,
        "success/touch_detail.html",
        {"touch": touch, "can_log": has_capability(request.user, Capability.LOG_TOUCHES)},
    )


@requires(Capability.LOG_TOUCHES)
@require_POST
def touch_done(request: HttpRequest, pk: int) -> HttpResponse:
    touch = get_object_or_404(Touch, pk=pk)
    try:
        touches.complete_next_step(touch, _actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if request.headers.get("HX-Request"):
        return HttpResponse(_("Done"))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("success:touch", args=[pk])
    messages.success(request, _("The next step was marked done."))
    return redirect(target)


@requires(Capability.LOG_TOUCHES)
def touch_bulk(request: HttpRequest) -> HttpResponse:
    """Pick accounts from a filtered list and log the same touch on each, all or none."""
    filter_form = AccountFilterForm(request.GET or None)
    filters = filter_form.filters() if filter_form.is_bound else AccountFilters()
    form = BulkTouchForm(request.POST or None)
    failures: list[tuple[Account, dict[str, list[str]]]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            logged = touches.log_bulk(
                data["accounts"],
                _actor(request),
                channel=data["channel"],
                outcome=data["outcome"],
                note=data["note"],
                next_step=data["next_step"],
                next_step_due=data["next_step_due"],
            )
        except touches.BulkTouchError as exc:
            failures = exc.rows
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("%(n)s touches were logged.") % {"n": len(logged)})
            return redirect(f"{reverse('success:touches')}?csm={request.user.pk}")
    accounts = IdFirstList(account_queryset(filters), search_cap=1000 if filters.q else None)
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    chosen = set(request.POST.getlist("accounts"))
    context = {"filter_form": filter_form, "form": form, "page": page, "failures": failures, "chosen": chosen}
    return render(request, "success/touch_bulk.html", context)


# Renewals -----------------------------------------------------------------------------------------------


def _pipeline_filters(request: HttpRequest) -> renewals.PipelineFilters:
    owner = request.GET.get("owner", "")
    stage = request.GET.get("stage", "")
    tier = request.GET.get("tier", "")
    return renewals.PipelineFilters(
        owner=int(owner) if owner.isdigit() else None,
        stage=stage if stage in RenewalStage.values else "",
        tier=tier if tier in ("high", "low", "tech") else "",
    )


@requires(Capability.VIEW_ACCOUNTS)
def renewal_pipeline(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    month = parse_month_param(request.GET.get("month"))
    filters = _pipeline_filters(request)
    found = renewals.pipeline(month, filters)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(_csv(found.rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="renewals-{month:%Y-%m}.csv"'
        return response
    today = timezone.localdate()
    page = Paginator(found.rows, LOG_PAGE).get_page(request.GET.get("page"))
    for renewal in page:
        renewal.days = renewals.days_to_renewal(renewal, today)  # type: ignore[attr-defined]
    month_forecast, quarter_forecast = renewals.forecasts(month, today)
    context = {
        "pipeline": found,
        "month": month,
        "previous": month_start(month, -1),
        "following": month_start(month, 1),
        "page": page,
        "filters": filters,
        "owners": owner_choices(),
        "stages": RenewalStage.choices,
        "month_forecast": month_forecast,
        "quarter_forecast": quarter_forecast,
        "defaults": renewals.DEFAULT_WIN_PROBABILITY,
        "can_change": has_capability(request.user, Capability.LOG_TOUCHES),
    }
    return render(request, "success/renewals.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(rows: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel reads UTF-8 only with a byte-order mark
    yield writer.writerow(
        [_("Account"), _("Owner CSM"), _("Renewal date"), _("MRR at stake"), _("Stage"), _("Churn risk"), _("Health")]
    )
    for r in rows.iterator(chunk_size=2000):
        risk = "" if r.risk is None else f"{r.risk:.3f}"
        owner = str(r.account.owner or "")
        yield writer.writerow(
            [r.account.name, owner, r.renewal_date, r.mrr, r.get_stage_display(), risk, r.health_band or ""]
        )


@requires(Capability.LOG_TOUCHES)
@require_POST
def renewal_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a renewal's stage inline: the row comes back, with the refusal if there is one."""
    renewal = get_object_or_404(Renewal, pk=pk)
    form = RenewalStageForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            renewal = renewals.set_stage(
                renewal, data["stage"], _actor(request), renewed_mrr=data["renewed_mrr"], note=data["note"]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
    row = renewals.pipeline_rows(renewal.renewal_date).get(pk=renewal.pk)
    row.days = renewals.days_to_renewal(row)  # type: ignore[attr-defined]
    context = {"r": row, "error": error, "stages": RenewalStage.choices, "can_change": True}
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect(f"{reverse('success:renewals')}?month={renewal.renewal_date:%Y-%m}")
    return render(request, "success/_renewal_row.html", context)
