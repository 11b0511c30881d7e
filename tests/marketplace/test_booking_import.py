"""Bookings imported through the one import engine: CSV (UTF-8 BOM or cp932), XLSX, the imports page and the
API; bad rows named by row and column, nothing half-written, a second import of the same file changing nothing."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.activity.importing import ImportRefused, import_bytes
from banso.activity.models import ImportJob, import_entity_choices
from banso.core.choices import Role
from banso.marketplace.models import Booking, BookingStatus

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
HEADER = (
    "external_id,provider,end_user,plan,booked_at,scheduled_at,guests,amount,tax_rate,status,"
    "cancelled_at,cancellation_fee,refunded_amount,refunded_at,payment_id"
)
GOOD = [
    HEADER,
    'B1,inn-1,mem-1,一泊二食プラン,2025-04-01 10:00,2025-05-03 15:00,2,"￥33,000",10,completed,,,,,'
    "ch_0123456789abcdef0123456789ab",
    "B2,inn-1,mem-2,地元のお土産セット,2025-04-02 09:30,2025-05-04 11:00,1,3240円,8,booked,,,,,",
    "B3,inn-1,,星空ツアー,2025-04-03,2025-05-10 20:00,3,12000,10,cancelled,2025-05-08 12:00,6000,,,",
    "B4,inn-1,mem-1,一泊二食プラン,2025-03-01,2025-04-20,2,25000,10,completed,,,5000,2025-05-02 10:00:00+09:00,",
]


def csv_bytes(lines: list[str], encoding: str = "utf-8-sig") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture
def mall(db):
    Account.objects.create(source="mall", external_id="inn-1", name="湯けむり旅館", kind=AccountKind.MERCHANT)
    for ext in ("mem-1", "mem-2"):
        EndUser.objects.create(source="mall", external_id=ext, kind=EndUserKind.MEMBER)


def test_bookings_are_an_import_choice():
    assert "bookings" in [value for value, _label in import_entity_choices()]


def test_good_file_is_imported_with_tokyo_times_yen_and_tax_rates(mall):
    result = import_bytes("bookings", "mall", csv_bytes(GOOD), "bookings.csv")
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    b1 = Booking.objects.get(source="mall", external_id="B1")
    assert b1.provider.external_id == "inn-1" and b1.end_user is not None and b1.end_user.external_id == "mem-1"
    assert b1.amount == 33_000 and b1.tax_rate == 10 and b1.guests == 2
    assert b1.scheduled_at == dt.datetime(2025, 5, 3, 15, 0, tzinfo=TOKYO)
    assert b1.payment_id == "ch_0123456789abcdef0123456789ab"
    b2 = Booking.objects.get(external_id="B2")
    assert (b2.amount, b2.tax_rate, b2.status) == (3_240, 8, BookingStatus.BOOKED)
    b3 = Booking.objects.get(external_id="B3")
    assert b3.end_user is None and b3.status == BookingStatus.CANCELLED and b3.cancellation_fee == 6_000
    b4 = Booking.objects.get(external_id="B4")
    assert b4.refunded_amount == 5_000 and b4.refunded_at == dt.datetime(2025, 5, 2, 10, 0, tzinfo=TOKYO)


def test_reimporting_the_same_file_changes_nothing_and_a_change_updates(mall):
    import_bytes("bookings", "mall", csv_bytes(GOOD), "bookings.csv")
    again = import_bytes("bookings", "mall", csv_bytes(GOOD), "bookings.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    changed = [*GOOD[:2], GOOD[2].replace(",booked,", ",completed,"), *GOOD[3:]]
    third = import_bytes("bookings", "mall", csv_bytes(changed), "bookings.csv")
    assert (third.created, third.updated, third.unchanged) == (0, 1, 3)
    assert Booking.objects.get(external_id="B2").status == BookingStatus.COMPLETED
    assert Booking.objects.count() == 4


def test_cp932_file_from_excel(mall):
    result = import_bytes("bookings", "mall", csv_bytes(GOOD, encoding="cp932"), "予約.csv")
    assert result.created == 4
    assert Booking.objects.get(external_id="B2").plan == "地元のお土産セット"


def test_xlsx_file(mall):
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["external_id", "provider", "end_user", "booked_at", "scheduled_at", "amount", "tax_rate"])
    sheet.append(["X1", "inn-1", "mem-1", "2025-04-01 10:00", "2025-05-03 15:00", 15000, 8])
    out = io.BytesIO()
    book.save(out)
    result = import_bytes("bookings", "mall", out.getvalue(), "bookings.xlsx")
    assert result.created == 1
    assert Booking.objects.get(external_id="X1").tax_rate == 8


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_written(mall):
    bad = [
        HEADER,
        GOOD[1],
        "C2,inn-9,mem-1,プラン,2025-04-01,2025-05-03,2,1000,10,completed,,,,,",  # unknown merchant
        "C3,inn-1,mem-1,プラン,2025-04-01,2025-05-03,2,1000,5,completed,,,,,",  # tax rate 5
        "C4,inn-1,mem-1,プラン,2025-04-01,2025-05-03,2,-100,10,completed,,,,,",  # negative amount
        "C5,inn-1,mem-1,プラン,2025-04-01,2025-05-03,2,1000,10,cancelled,,,,,",  # cancelled without a time
        "C6,inn-1,mem-1,プラン,2025-04-01,2025-05-03,2,1000,10,completed,,,2000,2025-05-04,",  # refund > amount
        "C7,inn-1,mem-1,プラン,2025-04-01,明日,2,1000,10,done,,,,,",  # bad time and status
    ]
    with pytest.raises(ImportRefused) as refused:
        import_bytes("bookings", "mall", csv_bytes(bad), "bookings.csv")
    named = {(e["row"], e["column"]) for e in refused.value.errors}
    assert named == {
        (3, "provider"),
        (4, "tax_rate"),
        (5, "amount"),
        (6, "cancelled_at"),
        (7, "refunded_amount"),
        (8, "scheduled_at"),
        (8, "status"),
    }
    assert Booking.objects.count() == 0


def test_imports_page_accepts_a_bookings_file(client_as, mall, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client = client_as(Role.OPS_MANAGER)
    assert b'value="bookings"' in client.get(reverse("activity:imports")).content
    file = SimpleUploadedFile("bookings.csv", csv_bytes(GOOD))
    response = client.post(reverse("activity:imports"), {"entity": "bookings", "source": "mall", "file": file})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.entity == "bookings" and job.created_count == 4
    assert str(job.get_entity_display()) != "bookings"


def test_api_batch_of_bookings(api_as, mall):
    records = [
        {
            "external_id": "A1",
            "provider": "inn-1",
            "end_user": "mem-1",
            "booked_at": "2025-04-01T10:00:00+09:00",
            "scheduled_at": "2025-05-03T15:00:00+09:00",
            "amount": "22,000",
            "tax_rate": "10",
        },
        {"external_id": "A2", "provider": "nobody", "booked_at": "2025-04-01", "scheduled_at": "x", "amount": "1"},
    ]
    api = api_as(Role.OPS_MANAGER)
    refused = api.post("/api/imports/bookings", {"source": "mall", "records": records}, content_type="application/json")
    assert refused.status_code == 422
    assert {(e["row"], e["column"]) for e in refused.json()["errors"]} == {(2, "provider"), (2, "scheduled_at")}
    ok = api.post("/api/imports/bookings", {"source": "mall", "records": records[:1]}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["created"] == 1
    assert Booking.objects.get().amount == 22_000
