"""Pages of the push area: the campaigns list, a new campaign, a campaign (settings, preview count, schedule /
send now / cancel, progress of its send, results) and the public tracked click link."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import push
from .models import CampaignStatus, PushCampaign, SendRun
from .push_forms import CampaignForm


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@requires(Capability.VIEW_ACCOUNTS)
def campaigns(request: HttpRequest) -> HttpResponse:
    rows = PushCampaign.objects.select_related("segment", "offer").order_by("-created_at", "-id")[:200]
    return render(
        request,
        "campaigns/push_campaigns.html",
        {"campaigns": rows, "can_edit": has_capability(request.user, Capability.WORK_CAMPAIGNS)},
    )


@requires(Capability.WORK_CAMPAIGNS)
def new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = dict(form.cleaned_data)
        try:
            if not data.get("segment"):
                data["segment"] = push.build_visited_segment(
                    _actor(request), data["advertiser"], data["from_days"], data["to_days"]
                )
            fields = {k: v for k, v in data.items() if k in push.EDITABLE}
            fields["url"] = fields.get("url") or ""
            fields["webhook_url"] = fields.get("webhook_url") or ""
            if data.get("scheduled_at"):
                fields["scheduled_at"] = data["scheduled_at"]
            created = push.save_campaign(_actor(request), fields)
        except push.PushError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:push_campaign", pk=created.pk)
    return render(request, "campaigns/push_new.html", {"form": form})


@requires(Capability.VIEW_ACCOUNTS)
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(PushCampaign.objects.select_related("segment", "offer"), pk=pk)
    run = row.runs.order_by("-id").first()
    return render(
        request,
        "campaigns/push_campaign.html",
        {
            "campaign": row,
            "run": run,
            "running": run.running if run else False,
            "results": push.results(row),
            "can_send": has_capability(request.user, Capability.SEND_CAMPAIGNS),
            "editable": row.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
        },
    )


@requires(Capability.VIEW_ACCOUNTS)
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(PushCampaign, pk=pk)
    try:
        count: int | None = push.preview(row)
    except Exception:  # the lake may not exist yet on a fresh install
        count = None
    return render(request, "campaigns/_push_preview.html", {"count": count})


def _act(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    row = get_object_or_404(PushCampaign, pk=pk)
    try:
        action(row)
    except push.PushError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("campaigns:push_campaign", pk=row.pk)


@requires(Capability.SEND_CAMPAIGNS)
@require_POST
def send_now(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda c: push.start_send(c, _actor(request)), _("Sending started."))


@requires(Capability.SEND_CAMPAIGNS)
@require_POST
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    form = CampaignForm(request.POST)
    form.is_valid()
    when = form.cleaned_data.get("scheduled_at") if "scheduled_at" not in form.errors else None
    if when is None:
        messages.error(request, _("Give the date and time to send at."))
        return redirect("campaigns:push_campaign", pk=pk)
    return _act(request, pk, lambda c: push.schedule(c, when), _("Campaign scheduled."))


@requires(Capability.SEND_CAMPAIGNS)
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, push.cancel, _("Campaign cancelled."))


@requires(Capability.VIEW_ACCOUNTS)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return progress_fragment(request, "campaigns/_push_progress.html", get_object_or_404(SendRun, pk=pk))


def click(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the tracked link of a notification (its random token is the only key)."""
    target = push.track_click(token)
    if target is None:
        raise Http404
    return HttpResponseRedirect(target)
