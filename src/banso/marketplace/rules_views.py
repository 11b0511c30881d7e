"""Pages of the rules area: the rules and their form with a dry-run preview, the firings (rule actions) with
their plan, approval and outcome, and the evaluation runs ("evaluate now" and its progress)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import AuditEntry, User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment
from banso.playbooks.models import OutboxMessage

from . import rules
from .models import EvaluationRun, Firing, FiringStatus, Incident, IncidentType, Rule, Severity
from .rules_forms import DecisionForm, FiringFilterForm, RuleForm

PER_PAGE = 50
RUNS_SHOWN = 10


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _type_labels(types: list[str]) -> str:
    labels = dict(IncidentType.choices)
    return "、".join(str(labels.get(t, t)) for t in types) if types else _("All types")


@requires(Capability.VIEW_ACCOUNTS)
def rule_list(request: HttpRequest) -> HttpResponse:
    rows = Rule.objects.annotate(
        proposed=Count("firings", filter=Q(firings__status=FiringStatus.PROPOSED)),
        fired=Count("firings"),
    )
    context = {
        "rules": [(r, _type_labels(r.incident_types)) for r in rows],
        "can_manage": has_capability(request.user, Capability.MANAGE_MARKETPLACE),
        "runs": list(EvaluationRun.objects.select_related("triggered_by")[:RUNS_SHOWN]),
    }
    return render(request, "marketplace/rules.html", context)


def _rule_form_page(request: HttpRequest, rule: Rule | None) -> HttpResponse:
    preview: list[Firing] | None = None
    if request.method == "POST":
        form = RuleForm(request.POST, instance=rule)
        if form.is_valid():
            if "preview" in request.POST:
                probe = Rule(pk=rule.pk if rule else None, **form.rule_data())
                preview = rules.preview(probe, timezone.now())
            else:
                try:
                    saved = rules.save_rule(rule, form.rule_data(), actor=_user(request), via="ui")
                except ValidationError as error:
                    for name, errs in error.message_dict.items():
                        for message in errs:
                            form.add_error(name if name in form.fields else None, message)
                else:
                    messages.success(request, _("The rule was saved."))
                    return redirect("marketplace:rule_edit", pk=saved.pk)
    else:
        form = RuleForm(instance=rule)
    context = {"form": form, "rule": rule, "preview": preview, "severities": Severity.choices}
    return render(request, "marketplace/rule_form.html", context)


@requires(Capability.MANAGE_MARKETPLACE)
def rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_form_page(request, None)


@requires(Capability.MANAGE_MARKETPLACE)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form_page(request, get_object_or_404(Rule, pk=pk))


def _firings(form: FiringFilterForm) -> Any:
    qs = Firing.objects.select_related("rule", "provider", "decided_by")
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["rule"]:
            qs = qs.filter(rule=data["rule"])
        text = (data["provider"] or "").strip()
        if text.isdigit():
            qs = qs.filter(provider_id=int(text))
        elif text:
            qs = qs.filter(provider__name__icontains=text)
    waiting_first = Case(
        When(status=FiringStatus.PROPOSED, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return qs.annotate(waiting=waiting_first).order_by("waiting", "-evaluated_at", "-id")


@requires(Capability.VIEW_ACCOUNTS)
def firing_list(request: HttpRequest) -> HttpResponse:
    form = FiringFilterForm(request.GET or None)
    page = Paginator(IdFirstList(_firings(form)), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "waiting": Firing.objects.filter(status=FiringStatus.PROPOSED).count(),
    }
    return render(request, "marketplace/firings.html", context)


def firing_context(firing: Firing) -> dict[str, Any]:
    """What the firing page shows: the stored plan with its incidents, messages and, once executed, the
    outcome per booking, the outbox rows and the audit trail."""
    plan = firing.plan or {}
    incidents = list(
        Incident.objects.filter(firing_links__firing=firing)
        .order_by("occurred_at", "id")
        .only("number", "type", "severity", "occurred_at", "summary")
    )
    outcome = firing.outcome or {}
    booking_outcome = outcome.get("bookings", {})
    items = [{**item, "outcome": booking_outcome.get(str(item["id"]))} for item in plan.get("bookings", [])]
    outbox = list(
        OutboxMessage.objects.filter(source=rules.SOURCE, dedupe_key__startswith=f"firing:{firing.pk}:").order_by("id")
    )
    booking_ids = [str(item["id"]) for item in plan.get("bookings", [])]
    audit = list(
        AuditEntry.objects.filter(
            Q(object_type=Firing._meta.label_lower, object_id=str(firing.pk))
            | Q(object_type="marketplace.booking", object_id__in=booking_ids, account_id=firing.provider_id)
            | Q(object_type="marketplace.provider", object_id=str(firing.provider_id), at__gte=firing.evaluated_at)
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    return {
        "firing": firing,
        "plan": plan,
        "items": items,
        "items_have_outcome": bool(booking_outcome),
        "incidents": [(i, reverse("marketplace:incident", args=[i.number])) for i in incidents],
        "outcome": outcome,
        "outbox": outbox,
        "audit": audit,
    }


@requires(Capability.VIEW_ACCOUNTS)
def firing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    firing = get_object_or_404(Firing.objects.select_related("rule", "provider", "decided_by"), pk=pk)
    context = firing_context(firing)
    context["can_decide"] = firing.status == FiringStatus.PROPOSED and has_capability(
        request.user, Capability.MANAGE_MARKETPLACE
    )
    context["decision"] = DecisionForm()
    return render(request, "marketplace/firing.html", context)


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def firing_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    firing = get_object_or_404(Firing, pk=pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    actor = _user(request)
    try:
        if decision == "approve":
            rules.approve(firing, actor, note)
            messages.success(request, _("Approved: the rule's actions were carried out."))
        else:
            assert actor is not None
            rules.reject(firing, actor, note)
            messages.success(request, _("Rejected: nothing was done; its incidents stay counted."))
    except rules.RuleError as error:
        messages.error(request, error.message)
    return redirect("marketplace:firing", pk=pk)


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def evaluate(request: HttpRequest) -> HttpResponse:
    running = rules.active_evaluation()
    if running is not None:
        messages.info(request, _("An evaluation is already waiting or running; it is shown below."))
        return redirect("marketplace:evaluation", pk=running.pk)
    run = rules.start_evaluation(_user(request))
    messages.success(request, _("The evaluation was queued; the worker runs it in the background."))
    return redirect("marketplace:evaluation", pk=run.pk)


@requires(Capability.VIEW_ACCOUNTS)
def evaluation(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(EvaluationRun.objects.select_related("triggered_by"), pk=pk)
    firings = []
    if not run.running and run.started_at is not None:
        firings = list(
            Firing.objects.filter(evaluated_at__gte=run.started_at, evaluated_at__lte=run.finished_at or timezone.now())
            .select_related("rule", "provider")
            .order_by("-id")[:100]
        )
    return render(request, "marketplace/evaluation.html", {"run": run, "running": run.running, "firings": firings})


@requires(Capability.VIEW_ACCOUNTS)
def evaluation_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return progress_fragment(request, "marketplace/_evaluation_progress.html", get_object_or_404(EvaluationRun, pk=pk))
