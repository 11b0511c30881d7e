"""The PDFs of a month close: statements (精算書) and the operator's qualified invoices (適格請求書) and return
invoices (適格返還請求書), written under the documents directory and read back (regenerated when a file is
missing, since a closed month's data never changes).

Documents are Japanese business documents, so their fixed wording is Japanese here rather than translated.
The items a qualified invoice must carry follow the National Tax Agency's インボイス制度 pages (see
billing.tax and /docs/BILLING.md): issuer name and registration number, transaction date or period, content
with the reduced-rate mark (※), totals and consumption tax per rate, and the recipient.

Speed: a close writes a statement and an invoice per merchant (20,000 PDFs for 10,000 merchants). Rows are
loaded in batches (a few queries per 200 documents) and rendered by banso.core.pdf's fast table rows; with
many documents the work is split over processes (forked, each with its own database connection; the parent
alone writes pdf_path).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.db.models import Q
from django.utils import timezone

from banso.core.calendar import month_start
from banso.core.pdf import Document

from .models import BillingSettings, Invoice, InvoiceKind, InvoiceLine, LineKind, Statement, StatementLine
from .tax import REDUCED_RATE, STANDARD_RATE, totals_per_rate

log = logging.getLogger(__name__)

REDUCED_MARK = "※"
REDUCED_LEGEND = "※は軽減税率対象"
ROUNDING_NOTE = "消費税額は税率ごとに合計した金額から計算し、1円未満を切り捨てています。"
BATCH = 200
# Below this many documents one process is quicker than starting others.
PARALLEL_THRESHOLD = 400

Kind = str  # "statement" or "invoice"


def documents_dir() -> Path:
    """BANSO_DOCUMENTS_DIR, or the documents folder of the var directory."""
    configured = getattr(settings, "BANSO_DOCUMENTS_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "documents"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "document"


def relative_path(obj: Statement | Invoice) -> str:
    """`2026-10/statements/ST-202610-000001.pdf`, `2026-10/invoices/…`, `2026-11/credit_notes/…`."""
    if isinstance(obj, Statement):
        month, folder = obj.month, "statements"
    else:
        month = obj.period_start if obj.kind == InvoiceKind.INVOICE else obj.issue_date
        folder = "invoices" if obj.kind == InvoiceKind.INVOICE else "credit_notes"
    return f"{month:%Y-%m}/{folder}/{_safe(obj.number)}.pdf"


def document_path(obj: Statement | Invoice) -> Path:
    return documents_dir() / relative_path(obj)


def download_name(obj: Statement | Invoice) -> str:
    if isinstance(obj, Statement):
        label = "精算書"
    else:
        label = "適格請求書" if obj.kind == InvoiceKind.INVOICE else "適格返還請求書"
    return f"{label}_{obj.number}.pdf"


# --- Formatting --------------------------------------------------------------------------------------------


def jdate(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def yen(amount: int) -> str:
    return f"¥{amount:,}" if amount >= 0 else f"-¥{-amount:,}"


def percent(rate: Decimal | None) -> str:
    if rate is None:
        return "—"
    return f"{rate.normalize():f}%"


def _local_date(value: Any) -> date:
    return timezone.localdate(value) if value else timezone.localdate()


def _key_values(document: Document, pairs: Iterable[tuple[str, str]], label_width: float = 42) -> None:
    # One line each: table_row is far cheaper than cell()/multi_cell() and these blocks are on every document.
    for label, value in pairs:
        document.set_x(document.l_margin)
        document.table_row([(label_width, label, "L"), (100, value, "L")], 6, border=False)


def _issuer_block(document: Document, name: str, registration_number: str | None, address: str) -> None:
    """The issuer at the right of the page, under the title."""
    top = document.get_y()
    document.set_xy(document.w - document.r_margin - 80, top)
    lines = [name]
    if registration_number:
        lines.append(f"登録番号 {registration_number}")
    if address:
        lines.append(address)
    document.multi_cell(80, 5.5, "\n".join(lines), align="R", new_x="LMARGIN", new_y="NEXT")
    document.set_y(top)


def _amount_table(document: Document, header: tuple[str, str], rows: Sequence[tuple[str, int]]) -> None:
    """Two columns, label and amount; negative amounts as -¥1,234."""
    document.set_fill_color(230, 236, 244)
    document.table_row([(120, header[0], "L"), (60, header[1], "R")], 6.5, True)
    for label, amount in rows:
        document.table_row([(120, label, "L"), (60, yen(amount), "R")], 6.5)
    document.ln(2)


# --- Statement (精算書) -------------------------------------------------------------------------------------


@dataclass
class StatementData:
    statement: Statement
    lines: list[tuple[Any, ...]] = field(default_factory=list)  # date, description, sales, rate, comm, fee, net, tax
    sales_by_rate: dict[int, int] = field(default_factory=dict)
    invoice_number: str = ""
    invoice_total: int = 0
    payment_date: date | None = None


STATEMENT_LINE_FIELDS = (
    "statement_id",
    "kind",
    "date",
    "description",
    "sales",
    "commission_rate",
    "commission",
    "payment_fee",
    "net",
    "booking__tax_rate",
)


def _statement_data(statements: Sequence[Statement], billing: BillingSettings) -> list[StatementData]:
    by_id = {s.pk: StatementData(statement=s) for s in statements}
    ids = list(by_id)
    for statement_id, kind, day, description, sales, rate, commission, fee, net, tax_rate in (
        StatementLine.objects.filter(statement_id__in=ids)
        .order_by("statement_id", "date", "id")
        .values_list(*STATEMENT_LINE_FIELDS)
    ):
        data = by_id[statement_id]
        data.lines.append((day, description, sales, rate, commission, fee, net, tax_rate))
        if tax_rate and kind in (LineKind.SALE, LineKind.CANCELLATION, LineKind.REFUND):
            data.sales_by_rate[tax_rate] = data.sales_by_rate.get(tax_rate, 0) + sales
    for statement_id, number, total, due in Invoice.objects.filter(
        statement_id__in=ids, kind=InvoiceKind.INVOICE
    ).values_list("statement_id", "number", "total", "due_date"):
        data = by_id[statement_id]
        data.invoice_number, data.invoice_total, data.payment_date = number, total, due
    terms = timedelta(days=billing.payment_terms_days)
    for data in by_id.values():
        if data.payment_date is None:
            data.payment_date = month_start(data.statement.month, 1) - timedelta(days=1) + terms
    return [by_id[s.pk] for s in statements]


def _render_statement(data: StatementData, billing: BillingSettings) -> bytes:
    statement = data.statement
    month = statement.month
    month_end = month_start(month, 1) - timedelta(days=1)
    document = Document(f"精算書 {statement.number}")
    document.title_block("精算書（支払明細）", f"{month.year}年{month.month}月分")
    _issuer_block(document, billing.issuer_name, None, billing.address)
    document.set_font_size(13)
    document.cell(100, 8, f"{statement.merchant_name} 御中", new_x="LMARGIN", new_y="NEXT")
    document.set_font_size(10)
    _key_values(
        document,
        [
            ("精算書番号", statement.number),
            ("発行日", jdate(_local_date(statement.created_at))),
            ("対象期間", f"{jdate(month)}〜{jdate(month_end)}"),
        ],
    )
    document.ln(2)
    document.paragraph(
        "本書は貴社の売上の回収と手数料等の差引を明細としてお知らせするもので、適格請求書ではありません。"
        + (
            f"当社の手数料の適格請求書は請求書番号 {data.invoice_number} として別に発行しています。"
            if data.invoice_number
            else ""
        )
    )

    document.heading("精算額")
    rows: list[tuple[str, int]] = [
        (f"売上（予約 {statement.bookings:,}件・取消 {statement.cancellations:,}件）", statement.sales),
        ("返金", -statement.refunds),
        ("販売手数料（税込）", -statement.commission),
        ("決済手数料（税込）", -statement.payment_fees),
    ]
    if statement.charges:
        rows.append(("その他のご請求（税込）", -statement.charges))
    if statement.adjustments:
        rows.append(("調整", statement.adjustments))
    if statement.payout >= 0:
        rows.append(("お支払額", statement.payout))
    else:
        rows.append(("ご請求額", -statement.payout))
    _amount_table(document, ("項目", "金額"), rows)
    payment = "お支払予定日" if statement.payout >= 0 else "お支払期限"
    _key_values(
        document,
        [
            (payment, jdate(data.payment_date)),
            ("関連する請求書", f"{data.invoice_number}（{yen(data.invoice_total)}）" if data.invoice_number else "—"),
        ],
    )

    document.heading("税率別の売上（貴社の売上・税込）")
    tax_rows = [
        (f"{rate}%対象{REDUCED_MARK if rate == REDUCED_RATE else ''}", data.sales_by_rate.get(rate, 0))
        for rate in (STANDARD_RATE, REDUCED_RATE)
        if rate == STANDARD_RATE or data.sales_by_rate.get(rate)
    ]
    document.data_table([("税率", "text", 120), ("売上（税込）", "yen", 60)], tax_rows)
    document.paragraph(REDUCED_LEGEND)

    document.heading("明細")
    columns = [
        ("日付", "text", 22),
        ("内容", "text", 58),
        ("売上", "text", 22),
        ("手数料率", "text", 16),
        ("手数料", "text", 20),
        ("決済手数料", "text", 20),
        ("差引", "text", 22),
    ]
    document.set_font_size(8.5)
    height = 5.5
    document.set_fill_color(230, 236, 244)
    header = [(width, name, "L" if index < 2 else "R") for index, (name, _kind, width) in enumerate(columns)]
    document.table_row(header, height, True)
    # Hundreds of lines per statement: dates and rates repeat, so each is formatted once.
    days: dict[date, str] = {}
    rates: dict[Decimal | None, str] = {}
    for day, description, sales, rate, commission, fee, net, tax_rate in data.lines:
        if document.will_page_break(height):
            document.add_page()
            document.set_font_size(8.5)
            document.set_fill_color(230, 236, 244)
            document.table_row(header, height, True)
        day_text = days.get(day) or days.setdefault(day, f"{day:%Y/%m/%d}")
        rate_text = rates.get(rate) or rates.setdefault(rate, percent(rate))
        document.table_row(
            [
                (22, day_text, "L"),
                (58, f"{description}{REDUCED_MARK}" if tax_rate == REDUCED_RATE else description, "L"),
                (22, f"¥{sales:,}" if sales >= 0 else yen(sales), "R"),
                (16, rate_text, "R"),
                (20, f"¥{commission:,}" if commission >= 0 else yen(commission), "R"),
                (20, f"¥{fee:,}" if fee >= 0 else yen(fee), "R"),
                (22, f"¥{net:,}" if net >= 0 else yen(net), "R"),
            ],
            height,
        )
    document.set_font_size(10)
    document.ln(2)
    document.paragraph(f"{REDUCED_LEGEND}。手数料・決済手数料は税抜、売上・差引は税込です。")
    return document.to_bytes()


def statement_pdf(statement: Statement) -> bytes:
    billing = BillingSettings.current()
    return _render_statement(_statement_data([statement], billing)[0], billing)


# --- Invoice (適格請求書) and return invoice (適格返還請求書) ---------------------------------------------------


@dataclass
class InvoiceData:
    invoice: Invoice
    lines: list[InvoiceLine] = field(default_factory=list)
    original_number: str = ""


def _invoice_data(invoices: Sequence[Invoice]) -> list[InvoiceData]:
    by_id = {invoice.pk: InvoiceData(invoice=invoice) for invoice in invoices}
    for line in InvoiceLine.objects.filter(invoice_id__in=list(by_id)).order_by("invoice_id", "position"):
        by_id[line.invoice_id].lines.append(line)
    originals = {invoice.original_id for invoice in invoices if invoice.original_id}
    if originals:
        numbers = dict(Invoice.objects.filter(pk__in=originals).values_list("pk", "number"))
        for data in by_id.values():
            if data.invoice.original_id:
                data.original_number = numbers.get(data.invoice.original_id, "")
    return [by_id[invoice.pk] for invoice in invoices]


def _render_invoice(data: InvoiceData) -> bytes:
    invoice = data.invoice
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    title = "適格返還請求書" if credit else "適格請求書"
    document = Document(f"{title} {invoice.number}")
    document.title_block(title, "（返品・値引き等の返還額の明細）" if credit else "")
    _issuer_block(document, invoice.issuer_name, invoice.registration_number, invoice.issuer_address)
    document.set_font_size(13)
    document.cell(100, 8, f"{invoice.recipient_name} 御中", new_x="LMARGIN", new_y="NEXT")
    document.set_font_size(10)
    pairs = [
        ("返還請求書番号" if credit else "請求書番号", invoice.number),
        ("発行日", jdate(invoice.issue_date)),
        ("返還の期間" if credit else "取引期間", f"{jdate(invoice.period_start)}〜{jdate(invoice.period_end)}"),
    ]
    if credit:
        pairs.append(("元の請求書番号", data.original_number or "—"))
    elif invoice.due_date:
        pairs.append(("お支払期限", jdate(invoice.due_date)))
    pairs.append(("登録番号", invoice.registration_number))
    _key_values(document, pairs)
    document.ln(2)

    totals = totals_per_rate((line.amount, line.tax_rate) for line in data.lines) if data.lines else {}
    grand_total = invoice.total
    document.set_font_size(13)
    document.cell(
        0, 9, f"{'返還額合計' if credit else 'ご請求金額'}（税込） {yen(grand_total)}", new_x="LMARGIN", new_y="NEXT"
    )
    document.set_font_size(10)
    document.ln(1)

    document.heading("明細")
    height = 6.5
    document.set_fill_color(230, 236, 244)
    widths: tuple[int, ...]
    if credit:
        widths = (24, 24, 82, 16, 34)
        header = ["返還日", "元の取引日", "内容", "税率", "返還額（税抜）"]
    else:
        widths = (26, 104, 16, 34)
        header = ["取引日", "内容", "税率", "金額（税抜）"]

    def header_row() -> None:
        document.set_fill_color(230, 236, 244)
        document.table_row(
            [
                (w, name, "R" if i >= len(widths) - 2 else "L")
                for i, (w, name) in enumerate(zip(widths, header, strict=True))
            ],
            height,
            True,
        )

    header_row()
    for line in data.lines:
        if document.will_page_break(height):
            document.add_page()
            header_row()
        content = f"{line.description}{REDUCED_MARK if line.tax_rate == REDUCED_RATE else ''}"
        cells = [(f"{line.date:%Y/%m/%d}" if line.date else "—")]
        if credit:
            cells.append(f"{line.original_date:%Y/%m/%d}" if line.original_date else "—")
        cells += [content, f"{line.tax_rate}%", yen(line.amount)]
        document.table_row(
            [
                (w, text, "R" if i >= len(widths) - 2 else "L")
                for i, (w, text) in enumerate(zip(widths, cells, strict=True))
            ],
            height,
        )
    document.paragraph(REDUCED_LEGEND)

    document.heading("税率ごとの合計" + ("（返還額）" if credit else ""))
    rate_rows = []
    for rate in (STANDARD_RATE, REDUCED_RATE):
        total = totals.get(rate)
        if total is None:
            continue
        label = f"{rate}%対象{REDUCED_MARK if rate == REDUCED_RATE else ''}"
        rate_rows.append((label, total.subtotal, total.tax, total.total))
    document.data_table(
        [
            ("税率", "text", 45),
            ("対象金額（税抜）", "yen", 45),
            ("消費税額", "yen", 45),
            ("合計（税込）", "yen", 45),
        ],
        [*rate_rows, ("合計", sum(r[1] for r in rate_rows), sum(r[2] for r in rate_rows), grand_total)],
    )
    document.paragraph(ROUNDING_NOTE)
    if credit:
        document.paragraph("本書は、上記の元の取引について返還した対価の額と消費税額をお知らせする適格返還請求書です。")
    return document.to_bytes()


def invoice_pdf(invoice: Invoice) -> bytes:
    return _render_invoice(_invoice_data([invoice])[0])


def render(obj: Statement | Invoice) -> bytes:
    return statement_pdf(obj) if isinstance(obj, Statement) else invoice_pdf(obj)


# --- Writing and reading back -----------------------------------------------------------------------------


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def _write_batch(job: tuple[Kind, list[int]]) -> list[tuple[Kind, int, str]]:
    """Render and write one batch of documents of one kind; (kind, id, relative path) of each written."""
    kind, ids = job
    root = documents_dir()
    written: list[tuple[Kind, int, str]] = []
    if kind == "statement":
        billing = BillingSettings.current()
        statements = list(Statement.objects.filter(pk__in=ids).order_by("pk"))
        for data in _statement_data(statements, billing):
            relative = relative_path(data.statement)
            _write_file(root / relative, _render_statement(data, billing))
            written.append((kind, data.statement.pk, relative))
    else:
        invoices = list(Invoice.objects.filter(pk__in=ids).order_by("pk"))
        for invoice_data in _invoice_data(invoices):
            relative = relative_path(invoice_data.invoice)
            _write_file(root / relative, _render_invoice(invoice_data))
            written.append((kind, invoice_data.invoice.pk, relative))
    return written


_inherited: list[Any] = []


def _forget_connections() -> None:
    """In a forked worker: never use (nor close, which would end the parent's session) a database connection
    inherited from the parent; Django opens the worker's own on first use."""
    for alias in connections:
        wrapper = connections[alias]
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None


def _save_paths(results: list[tuple[Kind, int, str]]) -> None:
    statements = [Statement(pk=pk, pdf_path=path) for kind, pk, path in results if kind == "statement"]
    invoices = [Invoice(pk=pk, pdf_path=path) for kind, pk, path in results if kind == "invoice"]
    if statements:
        Statement.objects.bulk_update(statements, ["pdf_path"], batch_size=1000)
    if invoices:
        Invoice.objects.bulk_update(invoices, ["pdf_path"], batch_size=1000)


def _can_fork() -> bool:
    """Workers see only committed rows through their own connections: not inside a transaction, not with an
    in-memory SQLite database (tests), and only where fork exists."""
    if connection.in_atomic_block or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict.get("NAME", ""))
        return bool(name) and ":memory:" not in name and "mode=memory" not in name
    return True


def write_documents(
    statement_ids: Sequence[int],
    invoice_ids: Sequence[int],
    *,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> int:
    """Render and write the PDFs of these statements and invoices, save their pdf_path, and return how many
    were written. `progress(done, total)` is called after each batch. With many documents (and no open
    transaction) the work is spread over `processes` forked workers (default: the CPU count, at most 2)."""
    jobs: list[tuple[Kind, list[int]]] = [
        ("statement", list(statement_ids[i : i + BATCH])) for i in range(0, len(statement_ids), BATCH)
    ] + [("invoice", list(invoice_ids[i : i + BATCH])) for i in range(0, len(invoice_ids), BATCH)]
    total = len(statement_ids) + len(invoice_ids)
    if not total:
        return 0
    workers = processes if processes is not None else min(2, os.cpu_count() or 1)
    done = 0

    def collect(results: list[tuple[Kind, int, str]]) -> None:
        nonlocal done
        _save_paths(results)
        done += len(results)
        if progress:
            progress(done, total)

    if workers > 1 and total >= PARALLEL_THRESHOLD and _can_fork():
        Document("").to_bytes()  # parse the fonts once, before forking, so every worker shares them
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_forget_connections) as pool:
            for results in pool.imap_unordered(_write_batch, jobs):
                collect(results)
    else:
        for job in jobs:
            collect(_write_batch(job))
    return done


def read_document(obj: Statement | Invoice) -> bytes:
    """The document's PDF; written again (and its path saved) when the file is missing."""
    path = document_path(obj)
    if path.is_file():
        return path.read_bytes()
    content = render(obj)
    _write_file(path, content)
    relative = relative_path(obj)
    if obj.pdf_path != relative:
        type(obj).objects.filter(pk=obj.pk).update(pdf_path=relative)
        obj.pdf_path = relative
    return content


def documents_of(merchant_ids: Iterable[int]) -> dict[date, dict[str, list[Any]]]:
    """Statements and invoices of these merchants, newest month first (for the portal and its API)."""
    ids = list(merchant_ids)
    statements = list(
        Statement.objects.filter(merchant_id__in=ids, close__close_status="closed").order_by("-month", "number")
    )
    invoices = list(
        Invoice.objects.filter(merchant_id__in=ids)
        .filter(Q(close__isnull=True) | Q(close__close_status="closed"))
        .order_by("-issue_date", "-sequence")
    )
    months: dict[date, dict[str, list[Any]]] = defaultdict(lambda: {"statements": [], "invoices": []})
    for statement in statements:
        months[statement.month]["statements"].append(statement)
    for invoice in invoices:
        month = month_start(invoice.period_start if invoice.kind == InvoiceKind.INVOICE else invoice.issue_date)
        months[month]["invoices"].append(invoice)
    return {month: months[month] for month in sorted(months, reverse=True)}


__all__ = [
    "document_path",
    "documents_dir",
    "documents_of",
    "download_name",
    "invoice_pdf",
    "read_document",
    "render",
    "statement_pdf",
    "write_documents",
]
