"""Issuing invoices and credit notes: gapless numbers, the issuer copied in, totals per rate."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from banso.billing.invoicing import (
    InvoiceSpec,
    IssueError,
    LineSpec,
    format_number,
    issue_credit_note,
    issue_invoices,
    take_numbers,
)
from banso.billing.models import BillingSettings, DocumentSequence, Invoice, InvoiceKind

from .factories_invoicing import MerchantFactory, issuer

OCT = dt.date(2026, 10, 1)
OCT_END = dt.date(2026, 10, 31)


def spec(merchant, *lines: tuple[int, int]) -> InvoiceSpec:
    return InvoiceSpec(
        merchant_id=merchant.pk,
        recipient_name=merchant.name,
        period_start=OCT,
        period_end=OCT_END,
        lines=[LineSpec(f"手数料 {i}", amount, rate, OCT_END) for i, (amount, rate) in enumerate(lines)],
    )


@pytest.mark.django_db
def test_invoices_get_consecutive_numbers_and_totals_per_rate():
    issuer(payment_terms_days=30)
    a, b = MerchantFactory(), MerchantFactory()
    with transaction.atomic():
        first, second = issue_invoices(
            [spec(a, (105, 10), (105, 10), (105, 10)), spec(b, (1_000, 10), (99, 8))], issue_date=dt.date(2026, 11, 1)
        )
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.number == "INV-202610-000001"
    assert (first.subtotal_10, first.tax_10, first.subtotal_8, first.tax_8, first.total) == (315, 31, 0, 0, 346)
    assert (second.subtotal_10, second.tax_10, second.subtotal_8, second.tax_8, second.total) == (
        1000,
        100,
        99,
        7,
        1206,
    )
    assert first.issuer_name == "株式会社バンソウ観光"
    assert first.registration_number == "T7000012050002"
    assert first.due_date == OCT_END + dt.timedelta(days=30)
    assert [line.position for line in first.lines.all()] == [1, 2, 3]
    assert Invoice.objects.get(pk=second.pk).lines.count() == 2


@pytest.mark.django_db
def test_a_document_without_lines_is_refused_and_nothing_is_issued():
    issuer()
    merchant = MerchantFactory()
    with pytest.raises(IssueError, match="明細がありません"), transaction.atomic():
        issue_invoices([spec(merchant, (100, 10)), spec(merchant)], issue_date=OCT_END)
    assert not Invoice.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("line", [(-1, 10), (100, 5)])
def test_a_negative_amount_or_unknown_rate_is_refused(line):
    issuer()
    with pytest.raises(IssueError), transaction.atomic():
        issue_invoices([spec(MerchantFactory(), line)], issue_date=OCT_END)


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["", "T8000012050002"])
def test_invoices_are_refused_while_the_registration_number_is_missing_or_invalid(number):
    issuer(registration_number=number)
    with pytest.raises(IssueError, match="登録番号"), transaction.atomic():
        issue_invoices([spec(MerchantFactory(), (100, 10))], issue_date=OCT_END)


@pytest.mark.django_db
def test_a_rolled_back_issue_gives_its_numbers_back():
    issuer()
    merchant = MerchantFactory()
    with transaction.atomic():
        issue_invoices([spec(merchant, (100, 10))], issue_date=OCT_END)
    try:
        with transaction.atomic():
            issue_invoices([spec(merchant, (100, 10)), spec(merchant, (200, 10))], issue_date=OCT_END)
            raise RuntimeError("the close failed after issuing")
    except RuntimeError:
        pass
    with transaction.atomic():
        (again,) = issue_invoices([spec(merchant, (300, 10))], issue_date=OCT_END)
    assert again.sequence == 2
    assert list(Invoice.objects.order_by("sequence").values_list("sequence", flat=True)) == [1, 2]


@pytest.mark.django_db
def test_series_are_numbered_separately():
    with transaction.atomic():
        assert take_numbers("statement", 3) == 1
        assert take_numbers("statement", 2) == 4
        assert take_numbers("invoice", 1) == 1
        assert take_numbers("statement", 0) == 6
    assert DocumentSequence.objects.get(series="statement").next_value == 6


def test_numbers_name_the_month():
    assert format_number("INV", OCT, 42) == "INV-202610-000042"


@pytest.mark.django_db
def test_a_credit_note_carries_return_and_original_dates_and_refers_to_the_invoice():
    issuer()
    merchant = MerchantFactory()
    with transaction.atomic():
        (original,) = issue_invoices([spec(merchant, (3_840, 10), (1_000, 8))], issue_date=dt.date(2026, 11, 1))
    note = issue_credit_note(
        merchant=merchant,
        original=original,
        lines=[
            LineSpec("販売手数料の返還（予約 123 の返金）", 1_100, 10, dt.date(2026, 11, 12), dt.date(2026, 10, 5)),
            LineSpec("試食品の返品", 500, 8),
        ],
        issue_date=dt.date(2026, 11, 30),
    )
    assert note.kind == InvoiceKind.CREDIT_NOTE
    assert note.number == "CN-202611-000001"  # its own series
    assert note.original_id == original.pk
    assert (note.subtotal_10, note.tax_10, note.subtotal_8, note.tax_8, note.total) == (1100, 110, 500, 40, 1750)
    lines = list(note.lines.all())
    assert lines[0].date == dt.date(2026, 11, 12) and lines[0].original_date == dt.date(2026, 10, 5)
    assert lines[1].date == dt.date(2026, 11, 30) and lines[1].original_date == OCT_END
    assert note.due_date is None


@pytest.mark.django_db
def test_a_credit_note_without_an_original_needs_the_original_transaction_date():
    issuer()
    with pytest.raises(IssueError, match="元の取引の日付"):
        issue_credit_note(
            merchant=MerchantFactory(), original=None, lines=[LineSpec("返金", 100, 10)], issue_date=OCT_END
        )


@pytest.mark.django_db
def test_a_credit_note_cannot_refer_to_another_merchants_invoice():
    issuer()
    with transaction.atomic():
        (original,) = issue_invoices([spec(MerchantFactory(), (100, 10))], issue_date=OCT_END)
    with pytest.raises(IssueError):
        issue_credit_note(
            merchant=MerchantFactory(), original=original, lines=[LineSpec("返金", 100, 10)], issue_date=OCT_END
        )


@pytest.mark.django_db(transaction=True)
def test_two_issuers_at_once_get_distinct_consecutive_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections are a PostgreSQL test")
    issuer()
    merchant = MerchantFactory()
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def issue(count: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                invoices = issue_invoices([spec(merchant, (100, 10))] * count, issue_date=OCT_END)
            results.append([invoice.sequence for invoice in invoices])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(n,)) for n in (3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    numbers = sorted(n for batch in results for n in batch)
    assert numbers == list(range(1, 8))
    for batch in results:
        assert batch == list(range(batch[0], batch[0] + len(batch)))


@pytest.mark.django_db(transaction=True)
def test_take_numbers_refuses_to_run_outside_a_transaction():
    BillingSettings.current()
    with pytest.raises(RuntimeError):
        take_numbers("invoice", 1)
