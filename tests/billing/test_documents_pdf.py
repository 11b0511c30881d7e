"""The PDFs themselves, read back with pypdf: every item a qualified invoice (and a return invoice) must carry,
the statement's contents, and writing/reading documents on disk."""

import datetime as dt
import io

import pypdf
import pytest

from banso.billing import documents
from banso.billing.invoicing import LineSpec, issue_credit_note
from banso.billing.models import Invoice, Statement

from .factories_invoicing import MerchantFactory, closed_month, issuer, merchant_documents


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.BANSO_DOCUMENTS_DIR = tmp_path / "documents"


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.mark.django_db
def test_an_invoice_pdf_carries_every_item_of_a_qualified_invoice():
    issuer()
    statement, invoice = merchant_documents()
    text = flat(text_of(documents.invoice_pdf(invoice)))
    assert "適格請求書" in text
    assert "株式会社バンソウ観光" in text  # issuer
    assert "T7000012050002" in text  # registration number
    assert "2026年10月1日〜2026年10月31日" in text  # transaction period
    assert f"{statement.merchant_name}御中" in text  # recipient
    assert "販売手数料（2026年10月分）" in text  # content
    assert "ご当地グルメ特集の試食品※" in text  # the reduced-rate item marked
    assert "※は軽減税率対象" in text  # and the mark explained
    # Totals per rate with the rate, and the consumption tax per rate: 10% 5,222 → 522; 8% 1,000 → 80.
    assert "10%対象¥5,222¥522¥5,744" in text
    assert "8%対象※¥1,000¥80¥1,080" in text
    assert "¥6,824" in text and invoice.total == 6_824  # grand total
    assert invoice.number in text
    assert "2026年11月1日" in text  # issue date


@pytest.mark.django_db
def test_a_credit_note_pdf_carries_every_item_of_a_return_invoice():
    issuer()
    _statement, invoice = merchant_documents()
    note = issue_credit_note(
        merchant=invoice.merchant,
        original=invoice,
        lines=[
            LineSpec("販売手数料の返還（予約 77 の返金）", 1_000, 10, dt.date(2026, 11, 12), dt.date(2026, 10, 5)),
            LineSpec("試食品の返品", 250, 8, dt.date(2026, 11, 13), dt.date(2026, 10, 6)),
        ],
        issue_date=dt.date(2026, 11, 30),
    )
    text = flat(text_of(documents.invoice_pdf(note)))
    assert "適格返還請求書" in text
    assert "株式会社バンソウ観光" in text and "T7000012050002" in text
    assert "2026/11/12" in text and "2026/10/05" in text  # return date and original transaction date
    assert "2026/11/13" in text and "2026/10/06" in text
    assert "試食品の返品※" in text and "※は軽減税率対象" in text
    assert "10%対象¥1,000¥100¥1,100" in text  # returned amount and tax per rate
    assert "8%対象※¥250¥20¥270" in text
    assert invoice.number in text  # the original invoice
    assert f"{invoice.recipient_name}御中" in text


@pytest.mark.django_db
def test_a_statement_pdf_lists_each_booking_its_sales_per_rate_and_says_it_is_not_an_invoice():
    issuer()
    statement, invoice = merchant_documents()
    text = flat(text_of(documents.statement_pdf(statement)))
    assert "精算書" in text and f"{statement.merchant_name}御中" in text
    assert "2026年10月分" in text
    assert "適格請求書ではありません" in text
    assert invoice.number in text  # the related invoice
    assert "紅葉の夕食付きプラン" in text and "地元のお土産セット" in text
    assert "2026/10/05" in text
    assert "¥11,000" in text and "10%" in text
    assert "10%対象¥33,000" in text and "8%対象※¥5,400" in text  # the merchant's own sales per rate
    assert "お支払額¥32,656" in text
    assert "2026年11月30日" in text  # payment date (October's end + 30 days)


@pytest.mark.django_db
def test_a_statement_with_hundreds_of_lines_runs_over_several_pages():
    from banso.billing.models import StatementLine

    issuer()
    statement, _invoice = merchant_documents()
    line = StatementLine.objects.filter(statement=statement).first()
    StatementLine.objects.bulk_create(
        [
            StatementLine(
                statement=statement, kind=line.kind, date=line.date, description=f"予約 {n}", sales=1000, net=900
            )
            for n in range(150)
        ]
    )
    reader = pypdf.PdfReader(io.BytesIO(documents.statement_pdf(statement)))
    assert len(reader.pages) >= 3
    assert "予約 149" in reader.pages[-1].extract_text()


@pytest.mark.django_db
def test_write_documents_writes_files_saves_paths_and_reports_progress(settings):
    issuer()
    close = closed_month()
    pairs = [merchant_documents(close=close) for _ in range(3)]
    seen = []
    written = documents.write_documents(
        [s.pk for s, _ in pairs], [i.pk for _, i in pairs], progress=lambda done, total: seen.append((done, total))
    )
    assert written == 6
    assert seen[-1] == (6, 6)
    for statement, invoice in pairs:
        statement.refresh_from_db()
        invoice.refresh_from_db()
        assert statement.pdf_path == f"2026-10/statements/{statement.number}.pdf"
        assert invoice.pdf_path == f"2026-10/invoices/{invoice.number}.pdf"
        assert documents.document_path(invoice).read_bytes().startswith(b"%PDF")
        assert "精算書" in text_of(documents.document_path(statement).read_bytes())


@pytest.mark.django_db
def test_a_missing_file_is_written_again_when_read():
    issuer()
    statement, invoice = merchant_documents()
    content = documents.read_document(invoice)
    assert content.startswith(b"%PDF")
    path = documents.document_path(invoice)
    assert path.is_file()
    assert Invoice.objects.get(pk=invoice.pk).pdf_path == documents.relative_path(invoice)
    path.unlink()
    assert "適格請求書" in text_of(documents.read_document(invoice))
    assert path.is_file()
    assert documents.read_document(Statement.objects.get(pk=statement.pk)).startswith(b"%PDF")


@pytest.mark.django_db
def test_rare_characters_in_a_name_are_kept():
    issuer()
    _statement, invoice = merchant_documents(MerchantFactory(name="𠮷野観光株式会社"))
    assert "𠮷野観光株式会社" in flat(text_of(documents.invoice_pdf(invoice)))
