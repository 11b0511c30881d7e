"""Executing a firing: the dry run is exactly what is then done (bookings cancelled, customers and provider told
through the outbox, statuses changed), approval gates it, a booking changed since the dry run is skipped, every
change is audited, and the mail really goes out."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.marketplace import incidents, rules
from banso.marketplace.models import (
    Booking,
    BookingStatus,
    Firing,
    FiringStatus,
    IncidentStatus,
    Provider,
    ProviderStatus,
)
from banso.playbooks import outbox
from banso.playbooks.models import OutboxMessage
from tests.core.factories import UserFactory

from ..mail import smtp  # noqa: F401 (fixture)
from .factories import IncidentFactory, MemberFactory, ProviderFactory, RuleFactory
from .factories_rules import AREA, CATEGORY, NOW, provider_with_incidents, upcoming

pytestmark = pytest.mark.django_db


def _cancelling_rule(**kwargs):
    defaults = {
        "threshold": 2,
        "notify_customers": True,
        "offer_alternatives": True,
        "cancel_upcoming": True,
        "refund_cancelled": True,
        "hold_new_bookings": True,
        "requires_approval": True,
        "horizon_days": 30,
    }
    return RuleFactory(**{**defaults, **kwargs})


def _manager():
    return UserFactory(role="ops_manager")


def test_dry_run_plan_is_the_stored_plan_and_what_approval_then_does():
    _cancelling_rule()
    bad = provider_with_incidents(2)
    good = ProviderFactory(services=[(CATEGORY, AREA)], rating="4.90", review_count=80)
    soon, later = upcoming(bad, 2, days=3)
    beyond = upcoming(bad, 1, days=40)[0]  # outside the 30-day horizon
    past = upcoming(bad, 1, days=-2)[0]  # already happened
    dry = rules.evaluate(NOW, dry_run=True).firings
    assert len(dry) == 1
    plan = dry[0].plan
    assert [b["id"] for b in plan["bookings"]] == [soon.pk, later.pk]
    assert all(b["action"] == "cancel" and b["refund"] and b["refund_amount"] == 12_000 for b in plan["bookings"])
    assert plan["bookings"][0]["alternatives"][0]["provider_id"] == good.pk
    assert bad.pk not in [c["provider_id"] for b in plan["bookings"] for c in b["alternatives"]]

    firing = rules.evaluate(NOW).firings[0]
    firing.refresh_from_db()
    assert firing.plan == plan
    assert firing.status == FiringStatus.PROPOSED
    assert not OutboxMessage.objects.filter(source="marketplace").exists()  # nothing before approval
    assert Booking.objects.get(pk=soon.pk).status == BookingStatus.BOOKED

    rules.approve(firing, _manager(), "確認済み")
    cancelled = Booking.objects.filter(status=BookingStatus.CANCELLED)
    assert sorted(cancelled.values_list("pk", flat=True)) == [b["id"] for b in plan["bookings"]]
    assert all(b.cancelled_by_id == firing.pk and b.refund_due and b.cancelled_at for b in cancelled)
    assert Booking.objects.get(pk=beyond.pk).status == BookingStatus.BOOKED
    assert Booking.objects.get(pk=past.pk).status == BookingStatus.BOOKED
    sent = OutboxMessage.objects.filter(source="marketplace").order_by("id")
    assert [(m.to_email, m.subject) for m in sent] == [(m["to"], m["subject"]) for m in plan["messages"]]
    assert sorted(m.dedupe_key for m in sent) == sorted(
        [f"firing:{firing.pk}:warn"] + [f"firing:{firing.pk}:booking:{b['id']}" for b in plan["bookings"]]
    )
    assert Provider.objects.get(pk=bad.pk).status == ProviderStatus.ON_HOLD
    firing.refresh_from_db()
    assert firing.status == FiringStatus.EXECUTED and firing.decision_note == "確認済み"
    assert firing.outcome["bookings"] == {
        str(soon.pk): {"result": "cancelled", "refund_amount": 12_000},
        str(later.pk): {"result": "cancelled", "refund_amount": 12_000},
    }


def test_a_booking_cancelled_between_dry_run_and_approval_is_skipped(client_as):
    _cancelling_rule()
    bad = provider_with_incidents(2)
    kept, gone = upcoming(bad, 2)
    firing = rules.evaluate(NOW).firings[0]
    Booking.objects.filter(pk=gone.pk).update(status=BookingStatus.CANCELLED, cancelled_at=timezone.now())
    rules.approve(firing, _manager())
    firing.refresh_from_db()
    assert firing.outcome["bookings"][str(gone.pk)]["result"] == "skipped"
    assert Booking.objects.get(pk=gone.pk).cancelled_by_id is None
    assert Booking.objects.get(pk=kept.pk).cancelled_by_id == firing.pk
    keys = set(OutboxMessage.objects.filter(source="marketplace").values_list("dedupe_key", flat=True))
    assert f"firing:{firing.pk}:booking:{gone.pk}" not in keys
    assert f"firing:{firing.pk}:booking:{kept.pk}" in keys
    page = client_as(Role.VIEWER).get(reverse("marketplace:firing", args=[firing.pk]))
    items = {item["id"]: item["outcome"]["result"] for item in page.context["items"]}
    assert items == {kept.pk: "cancelled", gone.pk: "skipped"}
    assert f'data-booking="{gone.pk}"'.encode() in page.content


def test_notify_only_rule_leaves_bookings_alone_and_lists_customers_without_an_address():
    RuleFactory(threshold=2, notify_customers=True, offer_alternatives=True, warn_provider=True)
    bad = provider_with_incidents(2)
    with_mail = upcoming(bad, 1)[0]
    no_mail = upcoming(bad, 1, days=6, end_user=MemberFactory(email=""))[0]
    firing = rules.evaluate(NOW).firings[0]  # no approval needed: executed at once
    firing.refresh_from_db()
    assert firing.status == FiringStatus.EXECUTED and firing.decided_by is None
    assert [b["action"] for b in firing.plan["bookings"]] == ["notify", "notify"]
    missing = [m for m in firing.plan["messages"] if not m["to"]]
    assert [m["booking"] for m in missing] == [no_mail.pk]
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 2
    to = sorted(OutboxMessage.objects.filter(source="marketplace").values_list("to_email", flat=True))
    assert to == sorted([with_mail.end_user.email, bad.email])
    assert Provider.objects.get(pk=bad.pk).status == ProviderStatus.WARNED


def test_every_change_is_audited():
    _cancelling_rule()
    bad = provider_with_incidents(2)
    booking = upcoming(bad, 1)[0]
    firing = rules.evaluate(NOW).firings[0]
    manager = _manager()
    rules.approve(firing, manager)
    entries = AuditEntry.objects.filter(account_id=bad.pk)
    firing_entries = entries.filter(object_type="marketplace.firing", object_id=str(firing.pk))
    assert set(firing_entries.values_list("action", flat=True)) == {"create", "update"}
    decision = firing_entries.get(action="update")
    assert decision.actor == manager and decision.changes["status"] == ["proposed", "executed"]
    cancel = entries.get(object_type="marketplace.booking", object_id=str(booking.pk))
    assert cancel.changes["status"] == ["booked", "cancelled"] and cancel.changes["refund_due"] == [False, True]
    assert entries.filter(object_type="marketplace.provider").exists()


def test_held_provider_is_not_offered_as_an_alternative():
    RuleFactory(threshold=2, notify_customers=True, offer_alternatives=True, requires_approval=True)
    bad = provider_with_incidents(2)
    upcoming(bad, 1)
    held = ProviderFactory(services=[(CATEGORY, AREA)], status=ProviderStatus.ON_HOLD, rating="5.00", review_count=500)
    fine = ProviderFactory(services=[(CATEGORY, AREA)])
    alternatives = rules.evaluate(NOW, dry_run=True).firings[0].plan["bookings"][0]["alternatives"]
    ids = [c["provider_id"] for c in alternatives]
    assert held.pk not in ids and fine.pk in ids


def test_providers_firing_together_are_not_offered_to_each_others_customers():
    RuleFactory(threshold=2, notify_customers=True, offer_alternatives=True, requires_approval=True)
    one, two = provider_with_incidents(2), provider_with_incidents(2)
    upcoming(one, 1)
    upcoming(two, 1)
    for firing in rules.evaluate(NOW, dry_run=True).firings:
        ids = {c["provider_id"] for b in firing.plan["bookings"] for c in b["alternatives"]}
        assert not ids & {one.pk, two.pk}


def test_confirming_an_incident_evaluates_that_provider_at_once(django_capture_on_commit_callbacks):
    RuleFactory(threshold=2, requires_approval=True)
    p = provider_with_incidents(1, days_ago=1)
    reported = IncidentFactory(
        provider=p.account, status=IncidentStatus.REPORTED, confirmed_at=None, occurred_at=timezone.now()
    )
    assert not Firing.objects.exists()
    manager = _manager()
    with django_capture_on_commit_callbacks(execute=True):
        incidents.confirm(reported, manager)
    firing = Firing.objects.get(provider_id=p.pk)
    assert firing.score == 2 and reported.pk in firing.plan["incidents"]


def test_customers_and_provider_receive_the_mail_in_japanese_through_the_outbox(smtp):  # noqa: F811
    _cancelling_rule(hold_new_bookings=False)
    bad = provider_with_incidents(2)
    alt = ProviderFactory(services=[(CATEGORY, AREA)])
    booking = upcoming(bad, 1)[0]
    firing = rules.evaluate(NOW).firings[0]
    rules.approve(firing, _manager())
    outbox.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    assert sorted(m["To"] for m in smtp.messages) == sorted([bad.email, booking.end_user.email])
    customer = smtp.to(booking.end_user.email)[0]
    body = customer.get_body(preferencelist=("plain",)).get_content()
    assert booking.end_user.name in body
    assert alt.account.name in body and "https://market.example.jp/p/" in body
    assert "12,000" in body
    assert OutboxMessage.objects.filter(source="marketplace", status="sent").count() == 2
