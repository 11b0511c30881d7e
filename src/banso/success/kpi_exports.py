"""A month's team KPIs as an XLSX workbook: per person, the team total, the 12-month trend and days since the
last touch per account, with Japanese headers and real formats (rates `0.0%`, yen `#,##0`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from banso.accounts.choices import TouchTier
from banso.core.models import Team
from banso.core.xlsx import COUNT, DATE, FLOAT, MONTH, RATE, YEN, Column, facts_sheet, sheet, to_bytes

from . import kpis
from .services import days_since

# The per-account sheet lists at most this many accounts (by owner); the figures on the other sheets are complete.
ACCOUNT_ROWS_MAX = 100_000


def _figure_columns(first: Column) -> list[Column]:
    band_labels = _bands()
    return [
        first,
        (_("Assigned targets"), COUNT, lambda r: r.figures.assigned),
        (_("Touched targets"), COUNT, lambda r: r.figures.touched),
        (_("Touch rate"), RATE, lambda r: r.figures.touch_rate),
        (_("Appointments set"), COUNT, lambda r: r.figures.appointments),
        (_("Appointment-set rate"), RATE, lambda r: r.figures.appointment_rate),
        (_("Touches"), COUNT, lambda r: r.figures.touches),
        (_("Touches per person"), FLOAT, lambda r: r.figures.touches_per_person),
        (_("Against 30–40 touches"), None, lambda r: band_labels.get(r.band, "")),
        (_("Touches that reached the customer"), COUNT, lambda r: r.figures.reached),
        (_("Accounts touched"), COUNT, lambda r: r.figures.accounts_touched),
        (_("New clients at month start"), COUNT, lambda r: r.figures.new_base),
        (_("Retention (new clients)"), RATE, lambda r: r.figures.retention_new),
        (_("Established clients at month start"), COUNT, lambda r: r.figures.established_base),
        (_("Retention (established)"), RATE, lambda r: r.figures.retention_established),
        (_("MRR at month start"), YEN, lambda r: r.figures.start_mrr),
        (_("GRR"), RATE, lambda r: r.figures.grr),
        (_("NRR"), RATE, lambda r: r.figures.nrr),
        (_("Accounts owned"), COUNT, lambda r: r.figures.owned),
        (_("Past the tier's limit"), COUNT, lambda r: r.figures.buckets.get(kpis.OVERDUE, 0)),
    ]


def _bands() -> dict[str, str]:
    return {"below": _("Below"), "within": _("Within"), "above": _("Above")}


def workbook(month: dt.date, team: Team | None = None) -> Workbook:
    result = kpis.report(month, team)
    t = result.targets
    book = Workbook(write_only=True)  # the per-account sheet can hold 100,000 rows
    summary = book.create_sheet(_("Summary")[:31])
    facts: list[tuple[str, Any, str | None]] = [
        (_("Month"), month, MONTH),
        (_("Team"), team.name if team else _("All CSMs"), None),
        (_("Days since last touch as of"), result.as_of, DATE),
        (_("Touches per person per month (minimum)"), t.touches_min, COUNT),
        (_("Touches per person per month (target)"), t.touches_max, COUNT),
        (_("Retention target, new clients"), t.retention_new, RATE),
        (_("Retention target, established clients"), t.retention, RATE),
        (_("Months a client counts as new"), t.new_client_months, COUNT),
    ]
    facts_sheet(summary, facts)
    sheet(book, _("Per person"), _figure_columns((_("Person"), None, lambda r: r.name)), result.rows)
    sheet(book, _("Team"), _figure_columns((_("Team"), None, lambda r: r.name)), [result.total])
    sheet(
        book,
        _("Trend"),
        _figure_columns((_("Month"), MONTH, lambda p: p.month))[:-2],
        [_TrendRow(p, t) for p in result.trend],
    )
    _accounts_sheet(book, result)
    return book


class _TrendRow:
    """A trend point shaped like a table row, so the trend sheet shares the per-person columns."""

    def __init__(self, point: kpis.TrendPoint, targets: kpis.Targets) -> None:
        self.month = point.month
        self.figures = point.figures
        self.band = targets.touch_band(point.figures.touches_per_person)


def _accounts_sheet(book: Workbook, result: kpis.Report) -> None:
    people = kpis.people_of(result.team)
    owned: QuerySet[Any] = kpis.owned_with_last_touch(result.month, people, result.as_of)
    accounts = owned.order_by("owner_id", "name_kana", "id").values_list(
        "name", "owner__display_name", "owner__username", "tier", "mrr", "last_touch"
    )
    limits = result.targets.untouched_days
    tiers = {value: str(label) for value, label in TouchTier.choices}
    rows = []
    for name, display, username, tier, mrr, last in accounts[:ACCOUNT_ROWS_MAX].iterator(chunk_size=5000):
        days = days_since(last, result.as_of)
        limit = limits.get(tier, 0)
        overdue = limit > 0 and (days is None or days > limit)
        rows.append((name, display or username, tiers.get(tier, tier), mrr, last, days, limit or None, overdue))
    sheet(
        book,
        _("Days since last touch"),
        [
            (_("Account"), None, lambda r: r[0]),
            (_("Owner CSM"), None, lambda r: r[1]),
            (_("Touch tier"), None, lambda r: r[2]),
            (_("MRR"), YEN, lambda r: r[3]),
            (_("Last touch"), DATE, lambda r: timezone.localdate(r[4]) if r[4] else None),
            (_("Days since last touch"), COUNT, lambda r: r[5]),
            (_("Tier's limit (days)"), COUNT, lambda r: r[6]),
            (_("Past the limit"), None, lambda r: _("Yes") if r[7] else ""),
        ],
        rows,
    )


def workbook_bytes(month: dt.date, team: Team | None = None) -> bytes:
    return to_bytes(workbook(month, team))


def filename(month: dt.date) -> str:
    return f"kpis-{month:%Y%m}.xlsx"
