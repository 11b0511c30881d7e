"""Staleness pages: the board of open alerts per tracker with each CSM's counts, the trackers with their
per-tier thresholds (MANAGE_FUNNELS edits them), and "check now"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.choices import AccountKind, TouchTier
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import staleness
from .models import FunnelStage, StalenessAlert, StalenessMeasure, StalenessRule

ROWS_PER_RULE = 200


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def open_alerts(owner: int | None = None, rule: int | None = None, tier: str = "") -> Any:
    """Open alerts, filtered, most days first (shared with the API)."""
    alerts = StalenessAlert.objects.filter(resolved_at__isnull=True, rule__is_active=True)
    if owner is not None:
        alerts = alerts.filter(account__owner_id=owner)
    if rule is not None:
        alerts = alerts.filter(rule_id=rule)
    if tier:
        alerts = alerts.filter(account__tier=tier)
    return alerts.select_related("account", "account__owner", "rule").order_by("-days", "account__name")


@requires(Capability.VIEW_ACCOUNTS)
def board(request: HttpRequest) -> HttpResponse:
    owner, rule_id = _int(request.GET.get("owner")), _int(request.GET.get("rule"))
    tier = request.GET.get("tier", "") if request.GET.get("tier") in TouchTier.values else ""
    alerts = open_alerts(owner, rule_id, tier)
    rules = list(StalenessRule.objects.filter(is_active=True))
    sections = []
    for rule in rules:
        if rule_id is not None and rule.pk != rule_id:
            continue
        mine = alerts.filter(rule=rule)
        sections.append({"rule": rule, "total": mine.count(), "alerts": list(mine[:ROWS_PER_RULE])})
    per_csm = (
        StalenessAlert.objects.filter(resolved_at__isnull=True, rule__is_active=True)
        .values("account__owner_id", "account__owner__display_name", "account__owner__username")
        .annotate(n=Count("id"), clients=Count("account_id", distinct=True))
        .order_by("-n")
    )
    owners = User.objects.filter(owned_accounts__kind=AccountKind.CLIENT).distinct().order_by("username")
    context = {
        "sections": sections,
        "per_csm": list(per_csm),
        "rules": rules,
        "owners": owners,
        "tiers": TouchTier.choices,
        "chosen": {"owner": owner, "rule": rule_id, "tier": tier},
        "can_manage": has_capability(request.user, Capability.MANAGE_FUNNELS),
    }
    return render(request, "funnels/staleness_board.html", context)


def _form_values(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "name": post.get("name", ""),
        "measure": post.get("measure", ""),
        "stage_id": post.get("stage_id", ""),
        "thresholds": {tier: post.get(f"thresholds.{tier}", "").strip() for tier in TouchTier.values},
        "account_kinds": post.getlist("account_kinds") or [AccountKind.CLIENT],
        "is_active": post.get("is_active") == "on",
    }


def _rule_page(request: HttpRequest, rule: StalenessRule | None) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _form_values(request)
        try:
            actor = request.user if isinstance(request.user, User) else None
            saved = staleness.save_rule(rule, values, actor)
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, _("The tracker was saved."))
            return redirect("funnels:staleness_rules") if rule is None else redirect("funnels:staleness_rule", saved.pk)
    elif rule is not None:
        values = {
            "name": rule.name,
            "measure": rule.measure,
            "stage_id": rule.stage_id or "",
            "thresholds": rule.thresholds,
            "account_kinds": staleness.rule_kinds(rule),
            "is_active": rule.is_active,
        }
    else:
        values = {"measure": StalenessMeasure.DAYS_SINCE_STAGE, "thresholds": {}, "account_kinds": ["client"]}
        values["is_active"] = True
    tiers = [
        {
            "value": v,
            "label": label,
            "days": (values.get("thresholds") or {}).get(v, ""),
            "errors": errors.get(f"thresholds.{v}", []),
        }
        for v, label in TouchTier.choices
    ]
    context = {
        "rule": rule,
        "rules": StalenessRule.objects.select_related("stage").order_by("name"),
        "values": values,
        "errors": errors,
        "tiers": tiers,
        "measures": StalenessMeasure.choices,
        "stages": FunnelStage.objects.select_related("funnel").order_by("funnel__name", "position"),
        "kinds": AccountKind.choices,
    }
    return render(request, "funnels/staleness_rules.html", context, status=422 if errors else 200)


@requires(Capability.MANAGE_FUNNELS)
def rules(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@requires(Capability.MANAGE_FUNNELS)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_page(request, get_object_or_404(StalenessRule, pk=pk))


@requires(Capability.MANAGE_FUNNELS)
@require_POST
def check_now(request: HttpRequest) -> HttpResponse:
    totals = staleness.check()
    messages.success(
        request,
        _("Checked %(rules)s trackers: %(raised)s new alerts, %(resolved)s resolved.") % totals,
    )
    return redirect("funnels:staleness")
