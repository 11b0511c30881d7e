"""Events are insert-only through the event store; times without an offset are Tokyo time."""

import datetime
from decimal import Decimal

import pytest

from banso.activity.importing import ImportRefused, import_bytes
from banso.activity.models import Event

from .factories import AccountFactory, EndUserFactory
from .helpers import csv_bytes

pytestmark = pytest.mark.django_db

HEADER = "external_id,account,end_user,kind,occurred_at,value,properties"


def test_events_are_imported_with_tokyo_time_stored_as_utc():
    AccountFactory(external_id="A1")
    EndUserFactory(external_id="U1")
    data = csv_bytes(
        HEADER,
        'E1,A1,,login,2024-04-01 09:00:00,,"{""page"": ""/home""}"',
        "E2,,U1,booking,2024-04-01T09:00:00+00:00,1200.5,",
        "E3,A1,U1,visit,2024/04/01 09:30,,",
    )
    result = import_bytes("events", "crm", data, "e.csv")
    assert (result.created, result.unchanged) == (3, 0)
    e1 = Event.objects.get(external_id="E1")
    assert e1.occurred_at == datetime.datetime(2024, 4, 1, 0, 0, tzinfo=datetime.UTC)
    assert e1.properties == {"page": "/home"}
    e2 = Event.objects.get(external_id="E2")
    assert e2.occurred_at == datetime.datetime(2024, 4, 1, 9, 0, tzinfo=datetime.UTC)
    assert e2.value == Decimal("1200.5")
    assert Event.objects.get(external_id="E3").end_user.external_id == "U1"


def test_reimporting_events_inserts_nothing():
    AccountFactory(external_id="A1")
    data = csv_bytes(HEADER, "E1,A1,,login,2024-04-01 09:00:00,,", "E2,A1,,login,2024-04-02 09:00:00,,")
    import_bytes("events", "crm", data, "e.csv")
    again = import_bytes("events", "crm", data, "e.csv")
    assert (again.created, again.unchanged) == (0, 2)
    assert Event.objects.count() == 2


def test_event_without_subject_bad_time_or_json_is_refused():
    AccountFactory(external_id="A1")
    data = csv_bytes(
        HEADER,
        "E1,,,login,2024-04-01 09:00:00,,",
        "E2,A1,,login,yesterday,,",
        "E3,A1,,login,2024-04-01 09:00:00,,[1]",
        "E4,A1,,login,2024-04-01 09:00:00,1.23456,",
        "E5,A1,,login,2024-04-01 09:00:00,,",
    )
    with pytest.raises(ImportRefused) as caught:
        import_bytes("events", "crm", data, "e.csv")
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [
        (2, "account"),
        (3, "occurred_at"),
        (4, "properties"),
        (5, "value"),
    ]
    assert not Event.objects.exists()


def test_progress_is_reported_while_events_are_written():
    AccountFactory(external_id="A1")
    data = csv_bytes(HEADER, *(f"E{i},A1,,login,2024-04-01 09:00:00,," for i in range(5)))
    seen: list[tuple[int, int]] = []
    import_bytes("events", "crm", data, "e.csv", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5)
