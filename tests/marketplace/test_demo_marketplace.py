"""The marketplace demo at a small scale: providers with their services and booking links, bookings for their
own services, incidents of every status, three rules, and one evaluation that leaves one firing executed and
critical ones awaiting approval; a second run adds nothing."""

import datetime as dt

import pytest

from banso.accounts.models import Account, EndUser
from banso.core import demo as core_demo
from banso.core.demo import DemoContext, Progress
from banso.marketplace import demo
from banso.marketplace.models import (
    Booking,
    BookingStatus,
    Firing,
    FiringStatus,
    Incident,
    IncidentStatus,
    Provider,
    ProviderService,
    Rule,
)
from banso.playbooks.models import OutboxMessage

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def _context():
    ctx = DemoContext(today=TODAY, accounts=5, csms=1, progress=Progress(quiet=True))
    ctx.shared[demo.SCALE_KEY] = 0.05
    return ctx


def _snapshot():
    return {
        "accounts": Account.objects.filter(source=demo.DEMO_SOURCE).count(),
        "providers": Provider.objects.count(),
        "services": ProviderService.objects.count(),
        "members": EndUser.objects.filter(source=demo.DEMO_SOURCE).count(),
        "bookings": Booking.objects.count(),
        "incidents": Incident.objects.count(),
        "rules": Rule.objects.count(),
        "firings": Firing.objects.count(),
        "messages": OutboxMessage.objects.count(),
        "cancelled": Booking.objects.filter(status=BookingStatus.CANCELLED).count(),
    }


@pytest.fixture
def built():
    ctx = _context()
    core_demo.build(ctx)
    demo.build(ctx)
    return ctx


def test_demo_builds_providers_bookings_incidents_and_rules(built):
    providers = list(Provider.objects.select_related("account"))
    assert len(providers) == 15
    assert all(p.booking_url.startswith("https://market.example.jp/") for p in providers)
    assert all(p.account.kind == "provider" and p.account.name for p in providers)
    served = set(ProviderService.objects.values_list("provider_id", "category", "area"))
    assert {pid for pid, _c, _a in served} == {p.pk for p in providers}
    assert Booking.objects.count() == 1_000
    for pid, category, area in Booking.objects.values_list("provider_id", "category", "area"):
        assert (pid, category, area) in served
    now = dt.datetime.combine(TODAY, dt.time(20), tzinfo=demo.TOKYO)
    assert Booking.objects.filter(scheduled_at__gt=now, status=BookingStatus.BOOKED).exists()
    assert not Booking.objects.filter(scheduled_at__gt=now + dt.timedelta(days=demo.FUTURE_DAYS + 1)).exists()
    statuses = set(Incident.objects.values_list("status", flat=True))
    assert statuses == {IncidentStatus.CONFIRMED, IncidentStatus.REPORTED, IncidentStatus.DISMISSED}
    assert not Incident.objects.filter(status=IncidentStatus.CONFIRMED, confirmed_at__isnull=True).exists()
    assert Rule.objects.count() == 3
    assert Rule.objects.filter(requires_approval=True).count() == 1


def test_the_evaluation_leaves_one_executed_firing_and_critical_ones_awaiting_approval(built):
    pytest.importorskip("banso.marketplace.rules")
    no_show, _weighted, critical = (Rule.objects.get(name=spec["name"]) for spec in demo.RULES)
    executed = Firing.objects.filter(status=FiringStatus.EXECUTED)
    assert list(executed.values_list("rule_id", flat=True)) == [no_show.pk]
    first = Account.objects.get(source=demo.DEMO_SOURCE, external_id=demo.provider_id(0))
    assert executed.get().provider_id == first.pk
    proposed = Firing.objects.filter(status=FiringStatus.PROPOSED)
    assert sorted(proposed.values_list("rule_id", flat=True)) == [critical.pk, critical.pk]
    assert {f.provider.external_id for f in proposed} == {demo.provider_id(1), demo.provider_id(2)}
    # the weighted rule is two points short until the reported serious incident is confirmed
    assert not Firing.objects.filter(rule=_weighted).exists()
    assert OutboxMessage.objects.exists()  # the warning (and customer notices) went to the outbox


def test_a_second_run_adds_nothing(built):
    before = _snapshot()
    demo.build(_context())
    assert _snapshot() == before


def test_reset_removes_the_demo_marketplace(built):
    demo.reset(_context())
    assert Provider.objects.count() == 0
    assert Booking.objects.count() == 0
    assert Incident.objects.count() == 0
    assert Rule.objects.count() == 0
    assert Account.objects.filter(source=demo.DEMO_SOURCE).count() == 0
