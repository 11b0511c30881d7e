"""Coverage plan pages: the plans by month with their generation runs, one plan (load per CSM, the
targets with filters, a calendar board to drag targets onto another CSM or day, bulk actions, adding an
account by hand, locking) and the success settings. Every change goes through `plans`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core.calendar import business_days_between, month_start
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import plans
from .models import CoveragePlan, PlanRun, SuccessSettings, TargetReason
from .services import parse_month_param

PER_PAGE = 50
RUNS_SHOWN = 5


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


# Plans and runs ---------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def plan_list(request: HttpRequest) -> HttpResponse:
    runs = list(PlanRun.objects.select_related("triggered_by", "plan")[:RUNS_SHOWN])
    next_month = month_start(timezone.localdate(), 1)
    context = {
        "summaries": plans.plan_summaries(),
        "reasons": TargetReason.choices,
        "runs": runs,
        "polling": any(r.running for r in runs),
        "next_month": next_month,
        "months": [month_start(next_month, i) for i in (-1, 0, 1)],
        "can_plan": has_capability(request.user, Capability.PLAN_COVERAGE),
    }
    return render(request, "success/plans.html", context)


@requires(Capability.PLAN_COVERAGE)
@require_POST
def plan_generate(request: HttpRequest) -> HttpResponse:
    month = parse_month_param(request.POST.get("month"), month_start(timezone.localdate(), 1))
    running = plans.active_run(month)
    if running is not None:
        messages.info(request, _("A generation of this month's plan is already waiting or running."))
        return redirect("success:plans")
    try:
        plans.start_generation(month, _actor(request))
    except plans.PlanError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The plan is being generated in the background; progress is shown below."))
    return redirect("success:plans")


@requires(Capability.VIEW_ACCOUNTS)
def plan_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """One run's progress, polled by htmx while it goes; when it ends the page reloads."""
    return progress_fragment(request, "success/_plan_run.html", get_object_or_404(PlanRun, pk=pk))


# One plan ---------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CoveragePlan.objects.select_related("locked_by"), pk=pk)
    csm, reason, day = _int(request.GET.get("csm")), request.GET.get("reason") or "", _day(request.GET.get("day"))
    targets = plan.targets.select_related("account", "assignee").order_by("planned_on", "-priority", "id")
    if csm:
        targets = targets.filter(assignee_id=csm)
    if reason in TargetReason.values:
        targets = targets.filter(reason=reason)
    if day:
        targets = targets.filter(planned_on=day)
    page = Paginator(targets, PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"target": t, "why": plans.explain(t, plan)} for t in page]
    loads = plans.loads(plan)
    days = business_days_between(plan.month, month_start(plan.month, 1) - dt.timedelta(days=1))
    can_plan = has_capability(request.user, Capability.PLAN_COVERAGE)
    context = {
        "plan": plan,
        "page": page,
        "rows": rows,
        "loads": loads,
        "csms": [load.user for load in loads],
        "days": days,
        "board": _board(plan, loads, days, csm),
        "reasons": TargetReason.choices,
        "filters": {"csm": csm, "reason": reason, "day": day},
        "can_edit": can_plan and not plan.locked,
        "can_plan": can_plan,
    }
    return render(request, "success/plan.html", context)


def _board(plan: CoveragePlan, loads: list[plans.Load], days: list[dt.date], csm: int | None) -> list[dict[str, Any]]:
    """Per CSM (one, when filtered), the number of targets on each business day: the drop zones."""
    counts: dict[int, dict[dt.date, int]] = defaultdict(dict)
    rows = plan.targets.values_list("assignee_id", "planned_on").annotate(n=Count("id"))
    if csm:
        rows = rows.filter(assignee_id=csm)
    for assignee, day, n in rows.values_list("assignee_id", "planned_on", "n"):
        if day is not None:
            counts[assignee][day] = n
    shown = [load for load in loads if not csm or load.user.pk == csm]
    return [{"load": load, "cells": [(d, counts[load.user.pk].get(d, 0)) for d in days]} for load in shown]


def _answer(request: HttpRequest, plan: CoveragePlan, error: str | None = None, ok: str = "") -> HttpResponse:
    """JSON for the board's script, a message and a redirect for forms."""
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"ok": error is None, "error": error or ""}, status=400 if error else 200)
    if error:
        messages.error(request, error)
    elif ok:
        messages.success(request, ok)
    back = request.POST.get("next") or ""
    return redirect(back if back.startswith("/success/plans/") else f"/success/plans/{plan.pk}/")


@requires(Capability.PLAN_COVERAGE)
@require_POST
def plan_move(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CoveragePlan, pk=pk)
    target = get_object_or_404(plan.targets, pk=_int(request.POST.get("target")) or 0)
    day = request.POST.get("planned_on")
    try:
        planned_on = dt.date.fromisoformat(day) if day else None
    except ValueError:
        return _answer(request, plan, _("planned_on: %(value)s is not a date (YYYY-MM-DD).") % {"value": day})
    try:
        plans.move_target(
            target, assignee=_int(request.POST.get("assignee")), planned_on=planned_on, actor=_actor(request)
        )
    except plans.PlanError as error:
        return _answer(request, plan, str(error))
    return _answer(request, plan, ok=_("The target was moved."))


@requires(Capability.PLAN_COVERAGE)
@require_POST
def plan_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CoveragePlan, pk=pk)
    ids = [int(i) for i in request.POST.getlist("targets") if i.isdigit()]
    action = request.POST.get("action")
    try:
        if action == "reassign":
            assignee = _int(request.POST.get("assignee"))
            if assignee is None:
                raise plans.PlanError(_("assignee: choose a CSM."))
            done = len(plans.bulk_update(plan, ids, assignee=assignee, actor=_actor(request)))
        elif action == "move":
            day = _day(request.POST.get("planned_on"))
            if day is None:
                raise plans.PlanError(_("planned_on: choose a day."))
            done = len(plans.bulk_update(plan, ids, planned_on=day, actor=_actor(request)))
        elif action == "remove":
            done = plans.remove_targets(plan, ids, actor=_actor(request))
        else:
            raise plans.PlanError(_("action: choose reassign, move or remove."))
    except plans.PlanError as error:
        return _answer(request, plan, str(error))
    return _answer(request, plan, ok=_("%(n)s targets changed.") % {"n": done})


@requires(Capability.PLAN_COVERAGE)
@require_POST
def plan_add(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CoveragePlan, pk=pk)
    account = Account.objects.filter(pk=_int(request.POST.get("account")) or 0).first()
    if account is None:
        return _answer(request, plan, _("account: no account with that id."))
    try:
        plans.add_target(plan, account, _actor(request))
    except plans.PlanError as error:
        return _answer(request, plan, str(error))
    return _answer(request, plan, ok=_("%(name)s was added to the plan.") % {"name": account.name})


@requires(Capability.PLAN_COVERAGE)
@require_POST
def plan_lock(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CoveragePlan, pk=pk)
    if request.POST.get("unlock"):
        plans.unlock(plan, _actor(request))
        return _answer(request, plan, ok=_("The plan was unlocked."))
    try:
        plans.lock(plan, _actor(request))
    except plans.PlanError as error:
        return _answer(request, plan, str(error))
    return _answer(request, plan, ok=_("The plan was locked."))


# Settings ---------------------------------------------------------------------------------------------


class SettingsForm(forms.ModelForm[SuccessSettings]):
    class Meta:
        model = SuccessSettings
        exclude: list[str] = []


@requires(Capability.PLAN_COVERAGE)
def plan_settings(request: HttpRequest) -> HttpResponse:
    current = SuccessSettings.current()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The success settings were saved."))
        return redirect("success:plan_settings")
    return render(request, "success/settings.html", {"form": form})
