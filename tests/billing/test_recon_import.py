"""Importing PAY.JP data (API objects, dashboard CSVs, the REST API) and bank statements: idempotent, all or
nothing, bad rows named."""

import datetime as dt
import json

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from banso.activity.importing import ImportRefused
from banso.billing import reconcile
from banso.billing.models import BankDeposit, ProcessorImport, ProcessorTransaction
from tests.billing.factories_recon import TOKYO, PaidBookingFactory, bank_csv, charge, listing, transfer

pytestmark = pytest.mark.django_db


def as_json(*objects):
    return json.dumps(listing(*objects)).encode()


def test_reimporting_the_same_file_changes_nothing():
    booking = PaidBookingFactory()
    data = as_json(charge(booking, refunded=2_000), transfer("tr_a", 1_000, "2026-11-04", [booking.payment_id]))
    first = reconcile.import_payjp(data, "a.json")
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)  # charge, fee, refund, transfer
    before = list(ProcessorTransaction.objects.order_by("id").values())
    again = reconcile.import_payjp(data, "a.json")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert list(ProcessorTransaction.objects.order_by("id").values("id", "amount", "fee", "transfer_id")) == [
        {k: row[k] for k in ("id", "amount", "fee", "transfer_id")} for row in before
    ]


def test_a_newer_export_updates_what_changed():
    booking = PaidBookingFactory()
    reconcile.import_payjp(as_json(charge(booking)), "a.json")
    later = reconcile.import_payjp(as_json(charge(booking, refunded=5_000)), "b.json")
    assert (later.created, later.updated, later.unchanged) == (1, 0, 2)
    assert ProcessorTransaction.objects.get(kind="refund").amount == 5_000


def test_single_objects_and_charges_listed_by_a_transfer():
    booking = PaidBookingFactory()
    reconcile.import_payjp(json.dumps(charge(booking)).encode(), "one.json")
    reconcile.import_payjp(json.dumps(transfer("tr_b", 100, "2026-11-04", [booking.payment_id])).encode(), "t.json")
    assert set(
        ProcessorTransaction.objects.filter(charge_id=booking.payment_id).values_list("transfer_id", flat=True)
    ) == {"tr_b"}


def test_bad_objects_are_refused_whole_naming_the_row_and_field():
    good = charge(None, id="ch_ok", amount=1000)
    bad = charge(None, id="ch_bad", amount="12.5")
    foreign = charge(None, id="ch_usd", currency="usd")
    with pytest.raises(ImportRefused) as refused:
        reconcile.import_payjp(as_json(good, bad, foreign, {"object": "event"}), "bad.json")
    errors = {(e["row"], e["column"]) for e in refused.value.errors}
    assert errors == {(2, "amount"), (3, "currency"), (4, "object")}
    assert not ProcessorTransaction.objects.exists()
    assert not ProcessorImport.objects.exists()


CHARGES_CSV = (
    "支払いID,金額,返金額,手数料率,作成日時,売上確定,通貨\r\n"
    'ch_csv1,"12,000",0,3.60,2026/10/03 09:15:00,true,jpy\r\n'
    "ch_csv2,8000,3000,3.60,2026/10/04 18:00:00,true,jpy\r\n"
    "ch_auth,5000,0,3.60,2026/10/05 10:00:00,false,jpy\r\n"
)


def test_dashboard_charges_csv_with_japanese_headers_in_shift_jis():
    record = reconcile.import_payjp(CHARGES_CSV.encode("cp932"), "charges.csv")
    assert record.kind == "payjp_charges"
    first = ProcessorTransaction.objects.get(kind="charge", external_id="ch_csv1")
    assert (first.amount, first.fee) == (12_000, 432)
    assert first.occurred_at == dt.datetime(2026, 10, 3, 9, 15, tzinfo=TOKYO)
    assert ProcessorTransaction.objects.get(kind="refund").amount == 3_000
    assert not ProcessorTransaction.objects.filter(external_id="ch_auth").exists()  # authorised, never captured


def test_bad_csv_rows_are_named_by_line_and_column():
    data = b"id,amount,created\r\nch_1,1000,2026-10-01 10:00\r\nch_2,abc,2026-10-01 10:00\r\nch_3,1000,someday\r\n"
    with pytest.raises(ImportRefused) as refused:
        reconcile.import_payjp(data, "c.csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(3, "amount"), (4, "created")]


def test_transfers_csv_in_english():
    data = (
        "\ufeffid,amount,scheduled_date,status,charge_gross,charge_fee,refund_amount,net\r\n"
        "tr_x,9640,2026-11-04,paid,10000,360,0,9640\r\n"
    ).encode()
    record = reconcile.import_payjp(data, "transfers.csv")
    assert record.kind == "payjp_transfers"
    found = ProcessorTransaction.objects.get(kind="transfer")
    assert (found.amount, found.scheduled_date) == (9_640, dt.date(2026, 11, 4))
    assert reconcile.expected_transfer(found.raw, "tr_x") == (9_640, "summary")


def test_cp932_bank_statement_keeps_deposits_only_and_reimports_nothing():
    data = bank_csv(
        [
            ("2026/11/04", "ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ", "9,640", "", "109,640"),
            ("2026/11/05", "ﾃﾞﾝｷﾀﾞｲ", "", "5,000", "104,640"),
            ("2026/11/06", "ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ", "9,640", "", "114,280"),
            ("2026/11/06", "ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ", "9,640", "", "123,920"),
        ]
    )
    first = reconcile.import_bank(data, "meisai.csv")
    assert (first.rows, first.created) == (3, 3)
    assert BankDeposit.objects.filter(date=dt.date(2026, 11, 6)).count() == 2  # the same deposit twice a day
    assert BankDeposit.objects.first().description.startswith("フリコミ")  # NFKC: half-width kana widened
    again = reconcile.import_bank(data, "meisai.csv")
    assert (again.created, again.unchanged) == (0, 3)
    assert BankDeposit.objects.count() == 3


def test_bank_statement_with_a_bad_row_is_refused_naming_it():
    data = bank_csv([("2026/11/04", "入金", "1,000", "", "1"), ("2026/13/40", "入金", "1,000", "", "2")])
    with pytest.raises(ImportRefused) as refused:
        reconcile.import_bank(data, "meisai.csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(3, "日付")]
    assert not BankDeposit.objects.exists()


def test_fetch_reads_every_page_of_charges_and_transfers():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["authorization"].startswith("Basic ")
        offset = int(request.url.params["offset"])
        if request.url.path.endswith("/charges"):
            data = [charge(None, id=f"ch_api{offset}", amount=1000)] if offset < 2 else []
            return httpx.Response(200, json={"object": "list", "data": data, "has_more": offset < 1})
        return httpx.Response(200, json=listing(transfer("tr_api", 1928, "2026-11-04")))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    record = reconcile.fetch_payjp("sk_test_x", dt.datetime(2026, 10, 1, tzinfo=TOKYO), client=client)
    assert record.kind == "payjp_api"
    assert set(ProcessorTransaction.objects.filter(kind="charge").values_list("external_id", flat=True)) == {
        "ch_api0",
        "ch_api1",
    }
    assert [r.url.path for r in seen] == ["/v1/charges", "/v1/charges", "/v1/transfers"]


def test_cli_imports_matches_and_reports_bad_rows(tmp_path, capsys):
    booking = PaidBookingFactory()
    good = tmp_path / "charges.json"
    good.write_bytes(as_json(charge(booking)))
    call_command("billing", "reconcile", "import", "--kind", "payjp", str(good))
    call_command("billing", "reconcile", "match", "--month", "2026-10")
    out = capsys.readouterr().out
    assert "3 rows" not in out and "2 new" in out
    assert "matched 2026-10" in out
    bad = tmp_path / "bank.csv"
    bad.write_bytes(bank_csv([("x", "入金", "1", "", "1")]))
    with pytest.raises(CommandError, match="row 2"):
        call_command("billing", "reconcile", "import", "--kind", "bank", str(bad))


def test_cli_fetch_needs_the_secret_key(monkeypatch):
    monkeypatch.delenv("BANSO_PAYJP_SECRET_KEY", raising=False)
    with pytest.raises(CommandError, match="BANSO_PAYJP_SECRET_KEY"):
        call_command("billing", "reconcile", "fetch", "--since", "2026-10-01")


def test_bank_statement_with_account_lines_above_the_table():
    preamble = "口座名義,ﾊﾞﾝｿｳ(ｶ\r\n口座番号,普通 1234567\r\n期間,2026/11/01〜2026/11/30\r\n".encode("cp932")
    body = bank_csv([("2026/11/04", "ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ", "9,640", "", "1"), ("2026/11/05", "入金", "abc", "", "2")])
    with pytest.raises(ImportRefused) as refused:
        reconcile.import_bank(preamble + body, "meisai.csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(6, "お預り金額")]
    good = preamble + bank_csv([("2026/11/04", "ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ", "9,640", "", "1")])
    assert reconcile.import_bank(good, "meisai.csv").created == 1
