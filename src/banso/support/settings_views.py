"""Desk settings (MANAGE_SUPPORT): SLA policies, custom statuses, team routing and the SLA warning window on
one page; each section posts its own small form to the same URL. The rules live in `sla_settings`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from banso.core.models import Team, User
from banso.core.permissions import Capability, requires

from . import sla_settings
from .desk import DeskError
from .models import PRIORITY_ORDER, Channel, Priority, SlaPolicy, Status, StatusCategory, SupportSettings, TeamSettings


def _apply(request: HttpRequest, actor: User) -> str:
    """Run the posted section's service; returns the section's anchor."""
    data = request.POST
    form = data.get("form", "")
    if form == "policy":
        pk = data.get("id")
        policy = get_object_or_404(SlaPolicy, pk=pk) if pk else None
        values: dict[str, Any] = {k: data.get(k, "") for k in sla_settings.POLICY_FIELDS if k != "active"}
        values["active"] = "active" in data
        sla_settings.save_policy(policy, values, actor=actor)
        return "policies"
    if form == "status":
        pk = data.get("id")
        status = get_object_or_404(Status, pk=pk) if pk else None
        values = {k: data.get(k, "") for k in ("key", "name", "category", "position") if k in data}
        values["pauses_sla"] = "pauses_sla" in data
        values["active"] = "active" in data if status is not None else True
        sla_settings.save_status(status, values, actor=actor)
        return "statuses"
    if form == "status_remove":
        sla_settings.remove_status(get_object_or_404(Status, pk=data.get("id")), actor=actor)
        return "statuses"
    if form == "team":
        team = get_object_or_404(Team, pk=data.get("id"))
        sla_settings.save_team_settings(
            team,
            {"business_hours": data.get("business_hours", ""), "round_robin": "round_robin" in data},
            actor=actor,
        )
        return "teams"
    if form == "warn":
        sla_settings.save_warn_before(data.get("warn_before_minutes", ""), actor=actor)
        return "warning"
    raise DeskError("form", "unknown form")


@requires(Capability.MANAGE_SUPPORT)
@require_http_methods(["GET", "POST"])
def desk_settings(request: HttpRequest) -> HttpResponse:
    errors: list[tuple[str, str]] = []
    section = ""
    if request.method == "POST":
        assert isinstance(request.user, User)
        try:
            section = _apply(request, request.user)
        except DeskError as exc:
            errors.append((exc.field, exc.message))
            section = request.POST.get("form", "")
        else:
            return redirect(f"{request.path}#{section}")
    teams = list(Team.objects.order_by("name"))
    team_settings = {s.team_id: s for s in TeamSettings.objects.filter(team__in=teams)}
    context = {
        "errors": errors,
        "failed_form": section,
        "posted": request.POST if errors else {},
        "policies": [
            {"policy": p, "hours": sla_settings.hours_text(p.business_hours)}
            for p in sorted(
                SlaPolicy.objects.all(), key=lambda p: (PRIORITY_ORDER.get(Priority(p.priority), 9), p.channel)
            )
        ],
        "statuses": Status.objects.order_by("position", "id"),
        "teams": [
            {
                "team": t,
                "hours": sla_settings.hours_text(team_settings[t.pk].business_hours) if t.pk in team_settings else "",
                "round_robin": team_settings[t.pk].round_robin if t.pk in team_settings else False,
            }
            for t in teams
        ],
        "warn_before": (SupportSettings.objects.filter(pk=1).first() or SupportSettings()).warn_before_minutes,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "categories": StatusCategory.choices,
    }
    return render(request, "support/settings_desk.html", context, status=422 if errors else 200)
