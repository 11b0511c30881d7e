"""The rules' pages: the overview, the rule form (validation, the dry-run preview that saves nothing), the rule
actions list and page, approving and rejecting from it, "evaluate now" and the command line."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from banso.core.choices import Role
from banso.marketplace import rules
from banso.marketplace.models import Booking, BookingStatus, EvaluationRun, Firing, FiringStatus, Rule

from .factories import IncidentFactory, ProviderFactory, RuleFactory
from .factories_rules import upcoming

pytestmark = pytest.mark.django_db

FORM = {
    "name": "無断キャンセル2回/90日",
    "is_active": "on",
    "incident_types": ["no_show"],
    "min_severity": "1",
    "window_days": "90",
    "threshold": "2",
    "warn_provider": "on",
    "notify_customers": "on",
    "offer_alternatives": "on",
    "alternatives_count": "3",
    "cancel_upcoming": "on",
    "refund_cancelled": "on",
    "horizon_days": "30",
    "requires_approval": "on",
}


def _recent_provider(n=2):
    """Incidents and bookings relative to the real clock (pages evaluate at now)."""
    p = ProviderFactory()
    now = timezone.now()
    for i in range(n):
        IncidentFactory(provider=p.account, occurred_at=now - dt.timedelta(days=3 + i))
    return p


def test_overview_shows_what_awaits_a_decision(client_as):
    RuleFactory(threshold=2, requires_approval=True)
    p = _recent_provider()
    firing = rules.evaluate().firings[0]
    response = client_as(Role.VIEWER).get(reverse("marketplace:index"))
    assert response.status_code == 200
    assert response.context["waiting_count"] == 1
    assert reverse("marketplace:firing", args=[firing.pk]).encode() in response.content
    assert p.account.name in response.content.decode()


def test_manager_creates_a_rule_and_bad_input_names_the_field(client_as):
    client = client_as(Role.OPS_MANAGER)
    bad = client.post(reverse("marketplace:rule_new"), {**FORM, "threshold": "0"})
    assert bad.status_code == 200 and "threshold" in bad.context["form"].errors
    no_action = {k: v for k, v in FORM.items() if k not in ("warn_provider", "notify_customers", "cancel_upcoming")}
    no_action.pop("offer_alternatives")
    refused = client.post(reverse("marketplace:rule_new"), no_action)
    assert "warn_provider" in refused.context["form"].errors
    assert not Rule.objects.exists()
    ok = client.post(reverse("marketplace:rule_new"), FORM)
    rule = Rule.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("marketplace:rule_edit", args=[rule.pk])
    assert rule.incident_types == ["no_show"] and rule.cancel_upcoming and rule.requires_approval


def test_preview_shows_the_dry_run_and_saves_nothing(client_as):
    p = _recent_provider()
    booking = upcoming(p, 1, days=0)[0]
    Booking.objects.filter(pk=booking.pk).update(scheduled_at=timezone.now() + dt.timedelta(days=2))
    response = client_as(Role.OPS_MANAGER).post(reverse("marketplace:rule_new"), {**FORM, "preview": "1"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [f.provider_id for f in preview] == [p.pk]
    assert [b["id"] for b in preview[0].plan["bookings"]] == [booking.pk]
    assert f'data-booking="{booking.pk}"'.encode() in response.content
    assert not Rule.objects.exists() and not Firing.objects.exists()
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.BOOKED


def test_viewers_see_rules_but_cannot_edit_or_decide(client_as):
    rule = RuleFactory(threshold=2, requires_approval=True)
    _recent_provider()
    firing = rules.evaluate().firings[0]
    viewer = client_as(Role.VIEWER)
    assert viewer.get(reverse("marketplace:rules")).status_code == 200
    assert viewer.get(reverse("marketplace:rule_edit", args=[rule.pk])).status_code == 403
    page = viewer.get(reverse("marketplace:firing", args=[firing.pk]))
    assert page.status_code == 200 and not page.context["can_decide"]
    assert viewer.post(reverse("marketplace:firing_approve", args=[firing.pk])).status_code == 403
    agent = client_as(Role.SUPPORT_AGENT)
    assert agent.post(reverse("marketplace:firing_reject", args=[firing.pk]), {"note": "x"}).status_code == 403
    firing.refresh_from_db()
    assert firing.status == FiringStatus.PROPOSED


def test_manager_approves_and_rejects_from_the_firing_page(client_as):
    RuleFactory(threshold=2, requires_approval=True)
    first, second = _recent_provider(), _recent_provider()
    by_provider = {f.provider_id: f for f in rules.evaluate().firings}
    client = client_as(Role.OPS_MANAGER)
    listing = client.get(reverse("marketplace:firings"), {"status": "proposed"})
    assert {f.pk for f in listing.context["page"].object_list} == {f.pk for f in by_provider.values()}
    no_note = client.post(reverse("marketplace:firing_reject", args=[by_provider[first.pk].pk]), {"note": ""})
    assert no_note.status_code == 302
    assert Firing.objects.get(pk=by_provider[first.pk].pk).status == FiringStatus.PROPOSED
    client.post(reverse("marketplace:firing_reject", args=[by_provider[first.pk].pk]), {"note": "誤登録"})
    client.post(reverse("marketplace:firing_approve", args=[by_provider[second.pk].pk]), {"note": ""})
    assert Firing.objects.get(pk=by_provider[first.pk].pk).status == FiringStatus.REJECTED
    done = Firing.objects.get(pk=by_provider[second.pk].pk)
    assert done.status == FiringStatus.EXECUTED
    page = client.get(reverse("marketplace:firing", args=[done.pk]))
    assert page.status_code == 200
    assert f"firing:{done.pk}:warn".encode() in page.content  # the outbox row with its key
    assert page.context["audit"]


def test_evaluate_now_queues_a_run_with_a_progress_page(client_as, django_capture_on_commit_callbacks):
    RuleFactory(threshold=2, requires_approval=True)
    _recent_provider()
    client = client_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("marketplace:evaluate"))
    run = EvaluationRun.objects.get()
    assert response["Location"] == reverse("marketplace:evaluation", args=[run.pk])
    rules.run_evaluation(run)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.firings == 1 and run.percent == 100
    assert client.get(reverse("marketplace:evaluation", args=[run.pk])).context["firings"]
    assert client.get(reverse("marketplace:evaluation_progress", args=[run.pk])).status_code == 200
    assert client_as(Role.VIEWER).post(reverse("marketplace:evaluate")).status_code == 403


def test_daily_job_queues_one_evaluation_from_six_in_tokyo(django_capture_on_commit_callbacks):
    RuleFactory()
    five = dt.datetime(2026, 11, 26, 5, 59, tzinfo=rules.matching.TOKYO)
    assert rules.due_evaluation(five) is None
    with django_capture_on_commit_callbacks(execute=False):
        run = rules.due_evaluation(five + dt.timedelta(minutes=1))
        assert run is not None and run.scheduled
        assert rules.due_evaluation(five + dt.timedelta(hours=3)) is None
    assert EvaluationRun.objects.count() == 1


def test_command_line_dry_run_prints_without_saving():
    RuleFactory(threshold=2, cancel_upcoming=True, requires_approval=True)
    p = _recent_provider()
    out = StringIO()
    call_command("marketplace", "evaluate", "--dry-run", "--provider", p.account.external_id, stdout=out)
    assert "would fire" in out.getvalue() and p.account.name in out.getvalue()
    assert not Firing.objects.exists()
    call_command("marketplace", "evaluate", stdout=out)
    assert Firing.objects.filter(provider_id=p.pk).count() == 1


def test_command_line_refuses_an_unknown_provider():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--provider"):
        call_command("marketplace", "evaluate", "--provider", "nope", stdout=StringIO())
