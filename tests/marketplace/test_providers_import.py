"""Providers, incidents and held providers' bookings through the one import engine: a provider row makes the
account, profile and services; re-importing changes nothing; bad rows are named and nothing is written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import override

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.activity.importing import ImportRefused, import_bytes, import_records
from banso.core.models import AuditEntry
from banso.marketplace import incidents
from banso.marketplace.models import Booking, Incident, IncidentStatus, IncidentType, Provider, ProviderStatus, Severity

from .factories import BookingFactory, ProviderAccountFactory, ProviderFactory, tokyo

pytestmark = pytest.mark.django_db

PROVIDERS = [
    "external_id,name,name_kana,email,rating,review_count,daily_capacity,booking_url,services",
    "P1,クリーンサービス,くりーんさーびす,p1@example.jp,4.5,12,4,https://m.example.jp/p1,"
    "エアコンクリーニング/渋谷区; ハウスクリーニング/渋谷区",
    "P2,片付け屋,,p2@example.jp,,0,,,不用品回収/新宿区",
]


def csv_bytes(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def services_of(ext: str) -> set[tuple[str, str]]:
    return set(Provider.objects.get(account__external_id=ext).services.values_list("category", "area"))


def test_provider_rows_make_the_account_profile_and_services():
    result = import_bytes("providers", "mkt", csv_bytes(PROVIDERS), "providers.csv")
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    p1 = Provider.objects.select_related("account").get(account__external_id="P1")
    assert p1.account.kind == AccountKind.PROVIDER and p1.account.name == "クリーンサービス"
    assert (p1.rating, p1.review_count, p1.daily_capacity) == (Decimal("4.50"), 12, 4)
    assert p1.booking_url == "https://m.example.jp/p1" and p1.email == "p1@example.jp"
    assert services_of("P1") == {("エアコンクリーニング", "渋谷区"), ("ハウスクリーニング", "渋谷区")}
    p2 = Provider.objects.get(account__external_id="P2")
    assert p2.rating is None and p2.daily_capacity == 3
    assert AuditEntry.objects.filter(via="import", object_type="marketplace.provider").count() == 2


def test_reimporting_the_same_providers_changes_nothing_and_a_change_updates_only_that():
    import_bytes("providers", "mkt", csv_bytes(PROVIDERS), "providers.csv")
    entries = AuditEntry.objects.count()
    again = import_bytes("providers", "mkt", csv_bytes(PROVIDERS), "providers.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert AuditEntry.objects.count() == entries
    changed = [
        PROVIDERS[0],
        PROVIDERS[1].replace("4.5,12", "3.9,13"),
        "P2,片付け屋,,p2@example.jp,,0,,,不用品回収/中野区",
    ]
    result = import_bytes("providers", "mkt", csv_bytes(changed), "providers.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    assert Provider.objects.get(account__external_id="P1").rating == Decimal("3.90")
    assert services_of("P2") == {("不用品回収", "中野区")}
    assert Account.objects.filter(source="mkt").count() == 2


def test_bad_provider_rows_are_named_and_nothing_is_written():
    bad = [
        PROVIDERS[0],
        "P1,クリーン,,p1@example.jp,5.5,1,2,https://m.example.jp/p1,エアコンクリーニング",
        "P2,片付け屋,,not-an-email,,0,,ftp://x,不用品回収/新宿区",
    ]
    with pytest.raises(ImportRefused) as refused:
        import_bytes("providers", "mkt", csv_bytes(bad), "providers.csv")
    found = {(e["row"], e["column"]) for e in refused.value.errors}
    assert {(2, "rating"), (2, "services"), (3, "email"), (3, "booking_url")} <= found
    assert not Account.objects.filter(source="mkt").exists()


def test_a_provider_id_naming_a_customer_account_is_refused():
    Account.objects.create(source="mkt", external_id="P1", name="顧客", kind=AccountKind.CUSTOMER)
    with pytest.raises(ImportRefused) as refused:
        import_bytes("providers", "mkt", csv_bytes(PROVIDERS), "providers.csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(2, "external_id")]
    assert not Provider.objects.exists() and Account.objects.filter(source="mkt").count() == 1


@pytest.fixture
def market():
    provider = ProviderFactory(account=ProviderAccountFactory(source="mkt", external_id="P1"))
    booking = BookingFactory(source="mkt", external_id="B1", provider=provider.account)
    other = ProviderFactory(account=ProviderAccountFactory(source="mkt", external_id="P2"))
    return provider, booking, other


@pytest.fixture
def announced():
    calls: list[list[int]] = []

    def receiver(sender, provider_ids, actor, **kwargs):
        calls.append(provider_ids)

    incidents.incident_confirmed.connect(receiver)
    yield calls
    incidents.incident_confirmed.disconnect(receiver)


def incident_rows(**extra):
    rows = [
        {
            "external_id": "I1",
            "provider": "P1",
            "type": "no_show",
            "severity": "3",
            "status": "confirmed",
            "occurred_at": "2026-11-01 10:00",
            "summary": "来なかった",
            "booking": "B1",
            "inquiry_number": "42",
            "confirmed_at": "2026-11-02 09:00",
        },
        {
            "external_id": "I2",
            "provider": "P2",
            "type": "Late arrival",
            "severity": "Minor",
            "occurred_at": "2026-11-03 10:00:00+09:00",
            "summary": "30分遅れた",
        },
    ]
    for row in rows:
        row.update(extra.get(row["external_id"], {}))
    return rows


def test_incidents_are_numbered_typed_by_code_or_label_and_confirmed_ones_announced(
    market, announced, django_capture_on_commit_callbacks
):
    provider, booking, other = market
    with override("ja"):
        japanese_label = str(IncidentType.LATE.label)
    with django_capture_on_commit_callbacks(execute=True):
        result = import_records("incidents", "mkt", incident_rows(I2={"type": japanese_label}))
    assert result.created == 2
    i1 = Incident.objects.get(external_id="I1")
    assert i1.number.startswith("INC-") and i1.status == IncidentStatus.CONFIRMED
    assert (i1.severity, i1.booking_id, i1.inquiry_number) == (Severity.HIGH, booking.pk, 42)
    assert i1.occurred_at == tokyo(2026, 11, 1, 10) and i1.confirmed_at == tokyo(2026, 11, 2, 9)
    i2 = Incident.objects.get(external_id="I2")
    assert (i2.type, i2.severity, i2.status) == (IncidentType.LATE, Severity.LOW, IncidentStatus.REPORTED)
    assert announced == [[provider.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        again = import_records("incidents", "mkt", incident_rows(I2={"type": japanese_label}))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert announced == [[provider.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        import_records("incidents", "mkt", incident_rows(I2={"status": "confirmed"}))
    assert announced == [[provider.pk], [other.pk]]
    assert Incident.objects.get(external_id="I2").confirmed_at is not None


def test_bad_incident_rows_are_named_by_column_and_nothing_is_written(market):
    future = (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    rows = incident_rows(
        I1={"type": "遅延かも", "severity": "4", "booking": "B1"},
        I2={"occurred_at": future, "status": "maybe"},
    )
    rows.append(
        {
            "external_id": "I3",
            "provider": "P2",
            "type": "damage",
            "occurred_at": "2026-11-01",
            "summary": "x",
            "booking": "B1",
        }
    )
    with pytest.raises(ImportRefused) as refused:
        import_records("incidents", "mkt", rows)
    found = {(e["row"], e["column"]) for e in refused.value.errors}
    assert {(1, "type"), (1, "severity"), (2, "occurred_at"), (2, "status")} <= found
    assert not Incident.objects.exists()
    # Column checks pass; the booking is another provider's: refused at writing, still nothing written.
    with pytest.raises(ImportRefused) as refused:
        import_records("incidents", "mkt", [rows[2]])
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(1, "booking")]
    assert not Incident.objects.exists()


def test_a_held_providers_new_booking_is_refused_naming_the_provider_column(market):
    provider, _booking, _other = market
    provider.status = ProviderStatus.ON_HOLD
    provider.status_changed_at = tokyo(2026, 11, 10, 12)
    provider.save()
    rows = [
        {
            "external_id": "B2",
            "provider": "P1",
            "booked_at": "2026-11-11 09:00",
            "scheduled_at": "2026-12-01 10:00",
            "amount": "8000",
        },
        {
            "external_id": "B3",
            "provider": "P1",
            "booked_at": "2026-11-09 09:00",
            "scheduled_at": "2026-12-02 10:00",
            "amount": "8000",
        },
        {
            "external_id": "B4",
            "provider": "P2",
            "booked_at": "2026-11-11 09:00",
            "scheduled_at": "2026-12-02 10:00",
            "amount": "8000",
        },
    ]
    with pytest.raises(ImportRefused) as refused:
        import_records("bookings", "mkt", rows)
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(1, "provider")]
    assert "P1" in refused.value.errors[0]["reason"]
    result = import_records("bookings", "mkt", rows[1:])
    assert result.created == 2
    # Completed bookings from before or after the hold still come in.
    done = {**rows[0], "status": "completed"}
    assert import_records("bookings", "mkt", [done]).created == 1
    assert Booking.objects.filter(source="mkt").count() == 4
