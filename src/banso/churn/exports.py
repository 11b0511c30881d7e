"""The churn analysis as an XLSX workbook: one sheet per table, Japanese headers, real number formats
(yen `#,##0`, rates `0.0%`, months as dates), so it opens cleanly in Excel and LibreOffice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from banso.core.xlsx import COUNT, FLOAT, MONTH, RATE, XLSX, YEN, facts_sheet, sheet, to_bytes

from .analysis import CURVE_POINTS, ChurnAnalysis

__all__ = ["XLSX", "filename", "workbook", "workbook_bytes"]

P_VALUE = "0.0000"


def workbook(result: ChurnAnalysis) -> Workbook:
    tests = _tests()
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("Summary")[:31]
    facts: list[tuple[str, Any, str | None]] = [
        (_("First month"), result.period.start, MONTH),
        (_("Last month"), result.period.end, MONTH),
        (_("Touch tier"), result.filters.tier or _("All"), None),
        (_("Industry"), result.filters.industry or _("All"), None),
        (_("Owner CSM"), str(result.filters.owner_id or _("All")), None),
        (_("Accounts at risk"), result.at_risk_accounts, COUNT),
        (_("Churned accounts"), result.churned_accounts, COUNT),
        (_("Churned contracts without a churn record"), result.unrecorded_contracts, COUNT),
    ]
    facts_sheet(summary, facts)

    sheet(
        book,
        _("Monthly"),
        [
            (_("Month"), MONTH, lambda m: m.month),
            (_("Active accounts at month start"), COUNT, lambda m: m.active_accounts),
            (_("New accounts"), COUNT, lambda m: m.new_accounts),
            (_("Churned accounts"), COUNT, lambda m: m.churned_accounts),
            (_("Logo churn rate"), RATE, lambda m: m.logo_churn_rate),
            (_("MRR at month start"), YEN, lambda m: m.start_mrr),
            (_("New MRR"), YEN, lambda m: m.new_mrr),
            (_("Expansion MRR"), YEN, lambda m: m.expansion_mrr),
            (_("Contraction MRR"), YEN, lambda m: m.contraction_mrr),
            (_("Churned MRR"), YEN, lambda m: m.churned_mrr),
            (_("NetMRR"), YEN, lambda m: m.net_mrr),
            (_("MRR at month end"), YEN, lambda m: m.end_mrr),
            (_("Revenue churn rate"), RATE, lambda m: m.revenue_churn_rate),
            (_("GRR (month)"), RATE, lambda m: m.grr),
            (_("NRR (month)"), RATE, lambda m: m.nrr),
            (_("GRR (trailing 12 months)"), RATE, lambda m: m.grr_12m),
            (_("NRR (trailing 12 months)"), RATE, lambda m: m.nrr_12m),
        ],
        result.months,
    )
    sheet(
        book,
        _("Reasons"),
        [
            (_("Reason"), None, lambda r: r.reason),
            (_("Sub-reason"), None, lambda r: r.sub_reason or _("(total)")),
            (_("Churn records"), COUNT, lambda r: r.records),
            (_("Share"), RATE, lambda r: r.share),
            (_("Lost MRR"), YEN, lambda r: r.lost_mrr),
        ],
        result.reasons,
    )
    sheet(
        book,
        _("Attribute lift"),
        [
            (_("Attribute"), None, lambda r: r.attribute),
            (_("Value"), None, lambda r: r.value),
            (_("Accounts at risk"), COUNT, lambda r: r.accounts),
            (_("Churned accounts"), COUNT, lambda r: r.churned),
            (_("Share among churners"), RATE, lambda r: r.share_churned),
            (_("Share among all"), RATE, lambda r: r.share_all),
            (_("Lift"), "0.00", lambda r: r.lift),
            (_("Churn rate"), RATE, lambda r: r.churn_rate),
            (_("p-value"), P_VALUE, lambda r: r.p_value),
            (_("Test"), None, lambda r: tests.get(r.test, "")),
        ],
        result.lift,
    )
    sheet(
        book,
        _("Retention by cohort"),
        [
            (_("Cohort"), None, lambda c: c.cohort),
            (_("Accounts"), COUNT, lambda c: c.accounts),
            (_("Churned accounts"), COUNT, lambda c: c.churned),
            (_("Median survival (months)"), FLOAT, lambda c: c.median_months),
            *[(_("Retained at %(months)s months") % {"months": m}, RATE, _at(m)) for m in CURVE_POINTS],
        ],
        result.cohorts,
    )
    curve_rows = [(c.cohort, p) for c in result.cohorts for p in c.curve]
    sheet(
        book,
        _("Retention curves"),
        [
            (_("Cohort"), None, lambda r: r[0]),
            (_("Months since start"), COUNT, lambda r: r[1].month),
            (_("Retained"), RATE, lambda r: r[1].survival),
            (_("Lower 95% bound"), RATE, lambda r: r[1].lower),
            (_("Upper 95% bound"), RATE, lambda r: r[1].upper),
        ],
        curve_rows,
    )
    return book


def _tests() -> dict[str, str]:
    return {"fisher": _("Fisher's exact test"), "z": _("Two-proportion z-test")}


def _at(months: int) -> Callable[[Any], Any]:
    return lambda cohort: cohort.survival_at.get(months)


def workbook_bytes(result: ChurnAnalysis) -> bytes:
    return to_bytes(workbook(result))


def filename(result: ChurnAnalysis) -> str:
    return f"churn-{result.period.start:%Y%m}-{result.period.end:%Y%m}.xlsx"
