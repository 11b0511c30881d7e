"""The monthly report as an XLSX workbook (summary, merchants, top plans, trend, tax rates; real number formats)
and as a PDF (headline figures, trend, the leading merchants, top plans). Headers follow the active language,
Japanese by default; commands call these under the site language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from banso.core.pdf import Document
from banso.core.xlsx import COUNT, MONTH, RATE, YEN, Column, facts_sheet, sheet, to_bytes

from .reports import MerchantRow, MonthlyReport, PlanRow

PDF_MERCHANTS = 50  # the PDF lists the leading merchants; the workbook has them all


def definitions(report: MonthlyReport) -> list[str]:
    return [
        _("A booking belongs to the month of its scheduled date (Tokyo time)."),
        _(
            "Sales (tax included) = bookings not cancelled + cancellation fees − refunds made in the month; a "
            "refund counts in the month it is made, so earlier months never change."
        ),
        _(
            "Repeat rate = members with a booking in the month who also had a booking in the %(days)s days "
            "before the month began, out of all members with a booking in the month."
        )
        % {"days": report.window_days},
        _("Member growth = new members in the month / members at the end of the previous month."),
    ]


def month_label(report: MonthlyReport) -> str:
    return _("%(year)s-%(month)02d") % {"year": report.month.year, "month": report.month.month}


def _merchant_columns() -> list[Column]:
    return [
        (_("Merchant"), None, lambda m: m.name),
        (_("Reading"), None, lambda m: m.reading),
        (_("Bookings"), COUNT, lambda m: m.current.bookings),
        (_("Guests"), COUNT, lambda m: m.current.guests),
        (_("Cancellations"), COUNT, lambda m: m.current.cancellations),
        (_("Booked sales (yen)"), YEN, lambda m: m.current.booked_sales),
        (_("Cancellation fees (yen)"), YEN, lambda m: m.current.cancellation_fees),
        (_("Refunds (yen)"), YEN, lambda m: m.current.refunds),
        (_("Sales (yen)"), YEN, lambda m: m.current.sales),
        (_("Sales previous month (yen)"), YEN, lambda m: m.previous_month.sales),
        (_("Sales month on month"), RATE, lambda m: m.sales_mom),
        (_("Sales a year earlier (yen)"), YEN, lambda m: m.previous_year.sales),
        (_("Sales year on year"), RATE, lambda m: m.sales_yoy),
        (_("Bookings year on year"), RATE, lambda m: m.bookings_yoy),
    ]


def _plan_columns() -> list[Column]:
    return [
        (_("Merchant"), None, lambda p: p.merchant),
        (_("Plan"), None, lambda p: p.plan),
        (_("Bookings"), COUNT, lambda p: p.bookings),
        (_("Guests"), COUNT, lambda p: p.guests),
        (_("Sales (yen)"), YEN, lambda p: p.sales),
    ]


def workbook(report: MonthlyReport) -> bytes:
    book = Workbook(write_only=True)  # ten thousand merchants stream in a fraction of the memory
    t = report.totals
    facts: list[tuple[str, Any, str | None]] = [
        (_("Month"), report.month, MONTH),
        (_("Bookings"), t.current.bookings, COUNT),
        (_("Bookings month on month"), t.bookings_mom, RATE),
        (_("Bookings year on year"), t.bookings_yoy, RATE),
        (_("Guests"), t.current.guests, COUNT),
        (_("Cancellations"), t.current.cancellations, COUNT),
        (_("Booked sales (yen)"), t.current.booked_sales, YEN),
        (_("Cancellation fees (yen)"), t.current.cancellation_fees, YEN),
        (_("Refunds (yen)"), t.current.refunds, YEN),
        (_("Sales (yen)"), t.current.sales, YEN),
        (_("Sales previous month (yen)"), t.previous_month.sales, YEN),
        (_("Sales month on month"), t.sales_mom, RATE),
        (_("Sales a year earlier (yen)"), t.previous_year.sales, YEN),
        (_("Sales year on year"), t.sales_yoy, RATE),
        (_("Merchants with activity"), report.active_merchants, COUNT),
        (_("New members"), report.new_members, COUNT),
        (_("Members at month end"), report.members_at_end, COUNT),
        (_("Member growth"), report.member_growth, RATE),
        (_("Members who booked"), report.active_members, COUNT),
        (_("Repeat members"), report.repeat_members, COUNT),
        (_("Repeat rate"), report.repeat_rate, RATE),
        (_("Repeat window (days)"), report.window_days, COUNT),
    ]
    for row in report.by_tax_rate:
        facts.append((_("Sales at %(rate)s%% (yen, tax included)") % {"rate": row.rate}, row.sales, YEN))
        facts.append((_("Consumption tax at %(rate)s%% (yen)") % {"rate": row.rate}, row.tax, YEN))
    facts.append(("", None, None))
    facts.extend((text, None, None) for text in definitions(report))
    facts_sheet(book.create_sheet(_("Summary")[:31]), facts)
    sheet(book, _("Merchants"), _merchant_columns(), report.merchants)
    sheet(book, _("Top plans by sales"), _plan_columns(), report.top_plans_by_sales)
    sheet(book, _("Top plans by bookings"), _plan_columns(), report.top_plans_by_bookings)
    sheet(
        book,
        _("Trend"),
        [
            (_("Month"), MONTH, lambda p: p.month),
            (_("Bookings"), COUNT, lambda p: p.bookings),
            (_("Guests"), COUNT, lambda p: p.guests),
            (_("Sales (yen)"), YEN, lambda p: p.sales),
            (_("New members"), COUNT, lambda p: p.new_members),
            (_("Members at month end"), COUNT, lambda p: p.members),
        ],
        report.trend,
    )
    sheet(
        book,
        _("Tax rates"),
        [
            (_("Tax rate"), None, lambda r: f"{r.rate}%"),
            (_("Sales (yen, tax included)"), YEN, lambda r: r.sales),
            (_("Refunds (yen)"), YEN, lambda r: r.refunds),
            (_("Excluding tax (yen)"), YEN, lambda r: r.excluding_tax),
            (_("Consumption tax (yen)"), YEN, lambda r: r.tax),
        ],
        report.by_tax_rate,
    )
    return to_bytes(book)


def pdf(report: MonthlyReport) -> bytes:
    title = _("Merchant monthly report %(month)s") % {"month": month_label(report)}
    doc = Document(title=title)
    doc.title_block(title, _("Bookings and sales of every merchant, members and repeat rate."))
    t = report.totals
    doc.heading(_("Headline figures"))
    doc.data_table(
        [
            (_("Figure"), "text", 60),
            (_("This month"), "count", 40),
            (_("Month on month"), "rate", 40),
            (_("Year on year"), "rate", 40),
        ],
        [
            [_("Bookings"), t.current.bookings, t.bookings_mom, t.bookings_yoy],
            [_("Guests"), t.current.guests, t.guests_mom, t.guests_yoy],
            [_("Cancellations"), t.current.cancellations, None, None],
        ],
    )
    doc.data_table(
        [
            (_("Figure"), "text", 60),
            (_("This month"), "yen", 40),
            (_("Month on month"), "rate", 40),
            (_("Year on year"), "rate", 40),
        ],
        [
            [_("Sales"), t.current.sales, t.sales_mom, t.sales_yoy],
            [_("Refunds"), t.current.refunds, None, None],
            [_("Cancellation fees"), t.current.cancellation_fees, None, None],
        ],
    )
    doc.data_table(
        [(_("Members"), "text", 100), (_("Value"), "count", 80)],
        [
            [_("New members"), report.new_members],
            [_("Members at month end"), report.members_at_end],
            [_("Members who booked"), report.active_members],
            [_("Repeat members"), report.repeat_members],
        ],
    )
    doc.data_table(
        [(_("Rate"), "text", 100), (_("Value"), "rate", 80)],
        [[_("Member growth"), report.member_growth], [_("Repeat rate"), report.repeat_rate]],
    )
    doc.heading(_("Definitions"))
    for text in definitions(report):
        doc.paragraph(text)
    doc.heading(_("Trend (13 months)"))
    doc.data_table(
        [
            (_("Month"), "text", 30),
            (_("Bookings"), "count", 30),
            (_("Guests"), "count", 30),
            (_("Sales"), "yen", 45),
            (_("Members at month end"), "count", 45),
        ],
        [[f"{p.month:%Y-%m}", p.bookings, p.guests, p.sales, p.members] for p in report.trend],
    )
    doc.heading(_("Sales by tax rate"))
    doc.data_table(
        [
            (_("Tax rate"), "text", 30),
            (_("Sales (tax included)"), "yen", 50),
            (_("Refunds"), "yen", 50),
            (_("Consumption tax"), "yen", 50),
        ],
        [[f"{r.rate}%", r.sales, r.refunds, r.tax] for r in report.by_tax_rate],
    )
    doc.heading(_("Merchants (top %(n)s by sales of %(total)s)") % {"n": PDF_MERCHANTS, "total": len(report.merchants)})
    doc.data_table(_pdf_merchant_columns(), [_pdf_merchant_row(m) for m in report.merchants[:PDF_MERCHANTS]])
    doc.heading(_("Top plans by sales"))
    doc.data_table(_pdf_plan_columns(), [_pdf_plan_row(p) for p in report.top_plans_by_sales])
    doc.heading(_("Top plans by bookings"))
    doc.data_table(_pdf_plan_columns(), [_pdf_plan_row(p) for p in report.top_plans_by_bookings])
    return doc.to_bytes()


def _pdf_merchant_columns() -> list[tuple[str, str, float]]:
    return [
        (_("Merchant"), "text", 55),
        (_("Bookings"), "count", 20),
        (_("Cancellations"), "count", 20),
        (_("Sales"), "yen", 35),
        (_("Month on month"), "rate", 25),
        (_("Year on year"), "rate", 25),
    ]


def _pdf_merchant_row(m: MerchantRow) -> list[Any]:
    return [m.name[:24], m.current.bookings, m.current.cancellations, m.current.sales, m.sales_mom, m.sales_yoy]


def _pdf_plan_columns() -> list[tuple[str, str, float]]:
    return [(_("Merchant"), "text", 55), (_("Plan"), "text", 60), (_("Bookings"), "count", 25), (_("Sales"), "yen", 40)]


def _pdf_plan_row(p: PlanRow) -> list[Any]:
    return [p.merchant[:24], p.plan[:28], p.bookings, p.sales]
