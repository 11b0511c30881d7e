"""Recording, confirming, dismissing and reopening incidents: refused input names the field and writes nothing,
every step is audited, and confirmation announces the provider once, after the commit."""

import datetime as dt

import pytest
from django.utils import timezone

from banso.accounts.models import Account
from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.marketplace import incidents
from banso.marketplace.incidents import IncidentError, confirm, dismiss, record_incident, reopen
from banso.marketplace.models import Incident, IncidentStatus, IncidentType, Severity
from tests.core.factories import UserFactory

from .factories import BookingFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    incidents.incident_confirmed.connect(receiver)
    yield calls
    incidents.incident_confirmed.disconnect(receiver)


def record(provider, **overrides):
    fields = {
        "provider": provider.account,
        "type": IncidentType.NO_SHOW,
        "severity": Severity.MEDIUM,
        "occurred_at": timezone.now() - dt.timedelta(days=1),
        "summary": "予約の時間に来なかった",
    }
    fields.update(overrides)
    return record_incident(**fields)


def test_recorded_incident_is_numbered_reported_and_audited():
    provider = ProviderFactory()
    agent = UserFactory(role=Role.SUPPORT_AGENT)
    first = record(provider, reported_by=agent)
    second = record(provider)
    assert first.number == "INC-000001" and second.number == "INC-000002"
    assert first.status == IncidentStatus.REPORTED and first.reported_by == agent
    entry = AuditEntry.objects.get(object_type="marketplace.incident", object_id=str(first.pk))
    assert entry.action == "create" and entry.actor == agent and entry.account_id == provider.pk
    assert entry.changes["summary"] == [None, "予約の時間に来なかった"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": timezone.now() + dt.timedelta(minutes=5)}, "occurred_at"),
        ({"summary": "  "}, "summary"),
        ({"type": "bogus"}, "type"),
        ({"severity": 4}, "severity"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(overrides, field):
    provider = ProviderFactory()
    if "occurred_at" in overrides:
        overrides["occurred_at"] = timezone.now() + dt.timedelta(minutes=5)
    with pytest.raises(IncidentError) as refused:
        record(provider, **overrides)
    assert refused.value.field == field
    assert not Incident.objects.exists() and not AuditEntry.objects.filter(object_type="marketplace.incident").exists()


def test_a_booking_with_another_provider_is_refused():
    provider = ProviderFactory()
    booking = BookingFactory()  # with its own provider
    with pytest.raises(IncidentError) as refused:
        record(provider, booking=booking)
    assert refused.value.field == "booking"
    ok = record(provider, booking=BookingFactory(provider=provider.account))
    assert ok.booking is not None


def test_an_account_that_is_not_a_provider_is_refused():
    customer = Account.objects.create(source="t", external_id="c1", name="顧客")
    with pytest.raises(IncidentError) as refused:
        record_incident(
            provider=customer,
            type=IncidentType.LATE,
            severity=Severity.LOW,
            occurred_at=timezone.now(),
            summary="遅刻",
        )
    assert refused.value.field == "provider"


def test_confirming_sets_who_and_when_audits_and_announces_once_after_commit(
    announced, django_capture_on_commit_callbacks
):
    provider = ProviderFactory()
    manager = UserFactory(role=Role.OPS_MANAGER)
    incident = record(provider)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(incident, manager)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CONFIRMED
    assert incident.confirmed_by == manager and incident.confirmed_at is not None
    assert announced == [
        {"sender": Incident, "signal": incidents.incident_confirmed, "provider_ids": [provider.pk], "actor": manager}
    ]
    entry = AuditEntry.objects.filter(object_id=str(incident.pk), action="update").get()
    assert entry.changes["status"] == ["reported", "confirmed"]
    with pytest.raises(IncidentError):
        confirm(incident, manager)
    assert len(announced) == 1


def test_nothing_is_announced_when_the_confirmation_is_rolled_back(announced, django_capture_on_commit_callbacks):
    provider = ProviderFactory()
    incident = record(provider)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        confirm(incident, None)
    assert announced == [] and len(callbacks) == 1


def test_recording_confirmed_announces_the_provider(announced, django_capture_on_commit_callbacks):
    provider = ProviderFactory()
    manager = UserFactory(role=Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        incident = record(provider, confirmed=True, reported_by=manager)
    assert incident.status == IncidentStatus.CONFIRMED and incident.confirmed_by == manager
    assert [c["provider_ids"] for c in announced] == [[provider.pk]]


def test_dismissing_needs_a_reason_and_reopening_only_from_dismissed(announced):
    provider = ProviderFactory()
    incident = record(provider)
    with pytest.raises(IncidentError) as refused:
        dismiss(incident, None, "")
    assert refused.value.field == "reason"
    with pytest.raises(IncidentError):
        reopen(incident, None)
    dismiss(incident, None, "お客様の勘違い")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.DISMISSED and incident.dismissed_reason == "お客様の勘違い"
    reopen(incident, None)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED and incident.dismissed_reason == ""
    statuses = [
        e.changes["status"]
        for e in AuditEntry.objects.filter(object_id=str(incident.pk), action="update").order_by("id")
    ]
    assert statuses == [["reported", "dismissed"], ["dismissed", "reported"]]
    assert announced == []
