"""Importing ASP result reports: idempotent re-imports, 発生 → 確定 in place, decided results kept as decided,
per-row errors naming the column and value, yen amounts as reports write them, cp932 files, the ASPs' own
layouts, and a 20,000-row file written in bulk."""

import math
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banso.activity.importing import ImportRefused, import_bytes
from banso.campaigns.conversions import WRITE_BATCH
from banso.campaigns.models import Conversion, ConversionStatus
from banso.core.models import AuditEntry

from .factories import AspFactory, OfferFactory, UserFactory, tokyo
from .factories_conversions import click, report, store_events

pytestmark = pytest.mark.django_db


def _import(data: bytes, source: str = "plug", name: str = "report.csv"):
    return import_bytes("conversions", source, data, name)


def _audits() -> int:
    return AuditEntry.objects.filter(object_type="campaigns.conversion").count()


@pytest.fixture
def offer():
    return OfferFactory(asp=AspFactory(), asp_offer_id="s00000001", cashback_share=Decimal("50.00"))


def _row(**kw):
    row = {
        "asp": "a8",
        "asp_conversion_id": "r1",
        "asp_offer_id": "s00000001",
        "occurred_at": "2026-11-10 20:15:00",
        "status": "発生",
        "order_amount": "10000",
        "reward": "500",
    }
    row.update(kw)
    return row


def test_reimporting_the_same_file_changes_nothing(offer):
    data = report(
        [
            _row(asp_conversion_id="r1"),
            _row(asp_conversion_id="r2", status="確定", decided_at="2026-11-30 10:00"),
            _row(asp_conversion_id="r3", status="否認", decided_at="2026-11-30 10:00"),
        ]
    )
    first = _import(data)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    before = {c.pk: (c.status, c.reward, c.cashback, c.updated_at) for c in Conversion.objects.all()}
    audits = _audits()
    assert audits == 3

    again = _import(data)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert {c.pk: (c.status, c.reward, c.cashback, c.updated_at) for c in Conversion.objects.all()} == before
    assert _audits() == audits
    assert dict(Conversion.objects.values_list("asp_conversion_id", "cashback")) == {"r1": 250, "r2": 250, "r3": 0}


def test_a_later_report_moves_pending_to_approved_in_place(offer):
    _import(report([_row(reward="500")]))
    pk = Conversion.objects.get().pk

    result = _import(report([_row(status="確定", decided_at="2026-12-20 09:00", reward="600")]))

    assert (result.created, result.updated) == (0, 1)
    c = Conversion.objects.get()
    assert c.pk == pk
    assert c.status == ConversionStatus.APPROVED
    assert c.decided_at == tokyo(2026, 12, 20, 9)
    assert (c.reward, c.cashback) == (600, 300)
    update = AuditEntry.objects.get(object_type="campaigns.conversion", action="update")
    assert update.changes["status"] == ["pending", "approved"]


def test_an_approved_result_cannot_go_back_to_pending(offer):
    _import(report([_row(status="確定", decided_at="2026-11-30 10:00")]))
    bad = report([_row(asp_conversion_id="new-one"), _row(status="発生")])

    with pytest.raises(ImportRefused) as refused:
        _import(bad)

    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(3, "status")]
    assert Conversion.objects.get().status == ConversionStatus.APPROVED
    assert not Conversion.objects.filter(asp_conversion_id="new-one").exists()  # all or nothing


def test_a_reward_change_on_a_decided_result_is_refused(offer):
    _import(report([_row(status="否認", decided_at="2026-11-30 10:00", reward="500")]))
    with pytest.raises(ImportRefused) as refused:
        _import(report([_row(status="否認", decided_at="2026-11-30 10:00", reward="700")]))
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(2, "reward")]
    assert Conversion.objects.get().reward == 500


def test_an_unknown_program_id_is_a_row_error_naming_column_and_value(offer):
    with pytest.raises(ImportRefused) as refused:
        _import(report([_row(), _row(asp_conversion_id="r2", asp_offer_id="s99999999")]))
    [error] = refused.value.errors
    assert (error["row"], error["column"]) == (3, "asp_offer_id")
    assert "s99999999" in error["reason"]
    assert not Conversion.objects.exists()


def test_amounts_with_commas_and_yen_marks_and_cashback_rounded_down(offer):
    offer.cashback_share = Decimal("33.33")
    offer.save()
    _import(report([_row(order_amount="¥12,345", reward="1,001円")]))
    c = Conversion.objects.get()
    assert (c.order_amount, c.reward) == (12345, 1001)
    assert c.cashback == 333  # 1,001 × 33.33 % = 333.63…, rounded down


def test_a_cp932_file_with_the_words_real_reports_use(offer):
    rows = [
        _row(asp_conversion_id="r1", status="未確定"),
        _row(asp_conversion_id="r2", status="承認", decided_at="2026/11/30 10:00:00"),
        _row(asp_conversion_id="r3", status="却下", decided_at="2026/11/30 10:00:00"),
        _row(asp_conversion_id="r4", status="キャンセル", decided_at="2026/11/30 10:00:00"),
    ]
    _import(report(rows, encoding="cp932"))
    assert dict(Conversion.objects.values_list("asp_conversion_id", "status")) == {
        "r1": "pending",
        "r2": "approved",
        "r3": "rejected",
        "r4": "rejected",
    }


def test_an_unknown_status_and_a_decided_result_without_its_time_are_row_errors(offer):
    with pytest.raises(ImportRefused) as refused:
        _import(report([_row(status="保留中"), _row(asp_conversion_id="r2", status="確定")]))
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(2, "status"), (3, "decided_at")]


def test_a_result_id_twice_in_one_file_is_refused(offer):
    with pytest.raises(ImportRefused) as refused:
        _import(report([_row(), _row()]))
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(3, "asp_conversion_id")]


def test_the_user_comes_from_the_file_or_from_our_click(offer):
    named = UserFactory(external_id="member-1")
    clicker = UserFactory()
    store_events([click(offer, clicker, tokyo(2026, 11, 10, 20), "clk-77")])
    _import(
        report(
            [
                _row(asp_conversion_id="r1", user="member-1"),
                _row(asp_conversion_id="r2", click_id="clk-77"),
                _row(asp_conversion_id="r3", click_id="clk-none"),
            ]
        )
    )
    users = dict(Conversion.objects.values_list("asp_conversion_id", "end_user_id"))
    assert users == {"r1": named.pk, "r2": clicker.pk, "r3": None}
    with pytest.raises(ImportRefused) as refused:
        _import(report([_row(asp_conversion_id="r4", user="nobody")]))
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(2, "user")]


A8_HEADER = (
    "成果ID",
    "プログラムID",
    "プログラム名",
    "発生日時",
    "確定日時",
    "ステータス",
    "売上金額",
    "報酬額",
    "パラメータ",
)


def test_an_a8_report_in_its_own_layout_chosen_by_the_asps_report_format(offer):
    asp = offer.asp
    asp.report_format = "a8"
    asp.save()
    user = UserFactory()
    store_events([click(offer, user, tokyo(2026, 11, 10, 20), "p-1")])
    rows = [
        {
            "成果ID": "A8-0001",
            "プログラムID": "s00000001",
            "プログラム名": "通販 新規購入",
            "発生日時": "2026/11/10 20:15:00",
            "ステータス": "確定",
            "確定日時": "2026/11/30 10:00:00",
            "売上金額": "12,000",
            "報酬額": "600",
            "パラメータ": "p-1",
        }
    ]
    result = _import(report(rows, header=A8_HEADER, encoding="cp932"), source="a8")
    assert result.created == 1
    c = Conversion.objects.get()
    assert (c.asp_id, c.asp_conversion_id, c.offer_id) == (asp.pk, "A8-0001", offer.pk)
    assert (c.status, c.order_amount, c.reward, c.cashback) == ("approved", 12000, 600, 300)
    assert (c.click_id, c.end_user_id) == ("p-1", user.pk)
    assert _import(report(rows, header=A8_HEADER, encoding="cp932"), source="a8").unchanged == 1

    # An unknown program id is reported under the report's own column name.
    rows[0]["成果ID"], rows[0]["プログラムID"] = "A8-0002", "s0404"
    with pytest.raises(ImportRefused) as refused:
        _import(report(rows, header=A8_HEADER), source="a8")
    assert [(e["column"], "s0404" in e["reason"]) for e in refused.value.errors] == [("プログラムID", True)]


def test_a_valuecommerce_report_in_its_own_layout():
    asp = AspFactory(code="valuecommerce", name="ValueCommerce")
    asp.report_format = "valuecommerce"
    asp.save()
    offer = OfferFactory(asp=asp, asp_offer_id="2345678")
    header = (
        "トランザクションID",
        "プログラムID",
        "注文日時",
        "承認日時",
        "ステータス",
        "注文金額",
        "成果報酬額",
        "sid",
    )
    rows = [
        {
            "トランザクションID": "vc-1",
            "プログラムID": "2345678",
            "注文日時": "2026-11-10 20:15",
            "ステータス": "未確定",
            "注文金額": "5,000",
            "成果報酬額": "250",
            "sid": "x",
        },
    ]
    _import(report(rows, header=header), source="valuecommerce")
    c = Conversion.objects.get()
    assert (c.offer_id, c.asp_conversion_id, c.status, c.reward) == (offer.pk, "vc-1", "pending", 250)


def test_a_layout_column_needs_the_asp_named_as_source(offer):
    rows = [
        {
            "成果ID": "A8-1",
            "プログラムID": "s00000001",
            "発生日時": "2026/11/10 20:15:00",
            "ステータス": "発生",
            "報酬額": "600",
        }
    ]
    with pytest.raises(ImportRefused) as refused:
        _import(report(rows, header=("成果ID", "プログラムID", "発生日時", "ステータス", "報酬額")), source="plug")
    assert {e["column"] for e in refused.value.errors} == {"成果ID", "プログラムID", "発生日時", "ステータス", "報酬額"}
    assert all(e["row"] == 1 for e in refused.value.errors)


def test_a_20000_row_file_is_written_in_bulk_and_reimported_unchanged(offer):
    rows = [
        _row(
            asp_conversion_id=f"r{i:05d}",
            status="確定" if i % 3 == 0 else "発生",
            decided_at="2026-11-30 10:00" if i % 3 == 0 else "",
            reward=str(100 + i % 50),
        )
        for i in range(20_000)
    ]
    data = report(rows)
    with CaptureQueriesContext(connection) as queries:
        result = _import(data)
    assert result.created == 20_000
    assert Conversion.objects.count() == 20_000
    # As many rows per INSERT as the database takes (2,000 on PostgreSQL; SQLite caps the parameters), and far
    # fewer statements in all than rows.
    fields = [f for f in Conversion._meta.concrete_fields if not f.primary_key]
    per_statement = min(WRITE_BATCH, connection.ops.bulk_batch_size(fields, rows))
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "campaigns_conversion"')]
    assert len(inserts) == math.ceil(20_000 / per_statement)
    assert len(queries) < 20_000 / 20
    assert _import(data).unchanged == 20_000
    assert Conversion.objects.filter(status="approved").count() == 6667
