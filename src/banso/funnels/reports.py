"""Client reports: a month's funnel, its trend, the bottleneck and the actions taken for the client (touches
logged, playbook tasks completed), frozen in `ClientReport.data` when generated, rendered as PDF (A4,
Japanese) and XLSX (概要, ファネル, 推移, 対応履歴), then marked sent (staleness reads `sent_at`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from banso.accounts.models import Account
from banso.core.calendar import month_start
from banso.core.choices import AuditAction
from banso.core.models import RunStatus, User
from banso.core.pdf import Document
from banso.core.services import record_change
from banso.core.xlsx import DATE, FLOAT, RATE, YEN, facts_sheet, sheet, to_bytes
from banso.playbooks.models import Task
from banso.success.models import Touch
from banso.success.services import month_range

from . import computing, presenting
from .models import ClientFunnel, ClientReport, Funnel, ReportBatch

COUNTS = YEN  # "#,##0"


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """'2026-10' → (2026-10-01, 2026-10-31); ValueError otherwise."""
    first = dt.datetime.strptime(text.strip(), "%Y-%m").date()
    return first, month_start(first, 1) - dt.timedelta(days=1)


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)


def report_data(funnel: Funnel, account: Account, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The report's content: every number it shows, as JSON (dates as ISO strings)."""
    stages = list(funnel.stages.order_by("position"))
    result = computing.client_funnel(funnel, account, end)
    cf = ClientFunnel(
        account=account,
        counts=result.counts,
        rates=result.rates,
        history_rates=result.history_rates,
        benchmark_rates=result.benchmark_rates,
        bottleneck_position=result.bottleneck_position,
    )
    lines = presenting.stage_lines(cf, stages)
    trend = computing.stage_trend(funnel, account, funnel.history_periods + 1, as_of=end)
    since, until = month_range(start)[0], month_range(end)[1]
    touches = Touch.objects.filter(account=account, occurred_at__gte=since, occurred_at__lt=until)
    tasks = Task.objects.filter(account=account, completed_at__gte=since, completed_at__lt=until)
    actions = [
        {
            "date": timezone.localtime(t.occurred_at).date().isoformat(),
            "kind": _("Touch"),
            "what": f"{t.get_channel_display()}: {t.get_outcome_display()}",
            "by": str(t.csm or ""),
        }
        for t in touches.select_related("csm")
    ] + [
        {
            "date": timezone.localtime(t.completed_at).date().isoformat(),
            "kind": _("Task"),
            "what": t.title,
            "by": str(t.delegated_to or t.owner),
        }
        for t in tasks.select_related("owner", "delegated_to")
        if t.completed_at
    ]
    actions.sort(key=lambda a: a["date"])
    bottleneck = next((line for line in lines if line.is_bottleneck), None)
    return {
        "client": account.name,
        "funnel": funnel.name,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "funnel_period": [result.period.start.isoformat(), result.period.end.isoformat()],
        "peer_group": result.peer_group,
        "stages": [
            {
                "label": line.label,
                "rate_label": line.rate_label,
                "count": line.count,
                "rate": _rate(line.rate),
                "history": _rate(line.history),
                "benchmark": _rate(line.benchmark),
                "diff_pt": line.diff_pt,
            }
            for line in lines
        ],
        "bottleneck": {
            "stage": bottleneck.label if bottleneck else "",
            "explanation": result.explanation,
            "loss_per_month": str(Decimal(result.loss_per_month)),
        },
        "trend": [
            {
                "period_start": row["period_start"].isoformat(),
                "period_end": row["period_end"].isoformat(),
                "counts": [int(n or 0) for n in row["counts"]],
                "rates": [_rate(r) for r in row["rates"]],
            }
            for row in trend.iter_rows(named=True)
        ],
        "actions": actions,
    }


def generate_report(
    funnel: Funnel, account: Account, start: dt.date, end: dt.date, actor: User | None, via: str = "ui"
) -> ClientReport:
    """Compute and freeze a client's report for the period (a new report each time: what was sent stays)."""
    data = report_data(funnel, account, start, end)
    with transaction.atomic():
        report = ClientReport.objects.create(
            account=account, funnel=funnel, period_start=start, period_end=end, data=data, generated_by=actor
        )
        record_change(
            actor=actor,
            obj=report,
            action=AuditAction.CREATE,
            before=None,
            after={"period_start": data["period_start"], "period_end": data["period_end"]},
            account_id=account.pk,
            via=via,
        )
    return report


def mark_sent(report: ClientReport, actor: User | None, via: str = "ui") -> ClientReport:
    """Record that the report went to the client (the first time only; sending again keeps the date)."""
    with transaction.atomic():
        report = ClientReport.objects.select_for_update().get(pk=report.pk)
        if report.sent_at is None:
            report.sent_at, report.sent_by = timezone.now(), actor
            report.save(update_fields=["sent_at", "sent_by"])
            record_change(
                actor=actor,
                obj=report,
                action=AuditAction.UPDATE,
                before={"sent_at": None},
                after={"sent_at": report.sent_at.isoformat()},
                account_id=report.account_id,
                via=via,
            )
    return report


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def report_filename(report: ClientReport, ext: str) -> str:
    return f"funnel-report-{report.account_id}-{report.period_start:%Y-%m}.{ext}"


def render_pdf(report: ClientReport) -> bytes:
    data = report.data
    doc = Document(title=_("Client report"))
    doc.title_block(
        _("%(client)s: recruiting report") % {"client": data["client"]},
        f"{data['period_start']} – {data['period_end']} · {data['funnel']}",
    )
    doc.heading(_("Funnel"))
    doc.data_table(
        [
            (_("Stage"), "text", 40),
            (_("Count"), "count", 25),
            (_("Rate"), "rate", 28),
            (_("Own history"), "rate", 30),
            (_("Benchmark"), "rate", 30),
            (_("Difference (pt)"), "count", 27),
        ],
        [(s["label"], s["count"], s["rate"], s["history"], s["benchmark"], s["diff_pt"]) for s in data["stages"]],
    )
    doc.heading(_("Bottleneck"))
    doc.paragraph(data["bottleneck"]["explanation"] or _("No stage falls short of the benchmark."))
    doc.heading(_("Trend"))
    stage_labels = [s["label"] for s in data["stages"]]
    width = (180 - 50) / max(1, len(stage_labels))
    doc.data_table(
        [(_("Period"), "text", 50)] + [(label, "count", width) for label in stage_labels],
        [(f"{row['period_start']} – {row['period_end']}", *row["counts"]) for row in data["trend"]],
    )
    doc.heading(_("Actions taken"))
    if data["actions"]:
        doc.data_table(
            [(_("Date"), "text", 28), (_("Kind"), "text", 22), (_("What"), "text", 90), (_("By"), "text", 40)],
            [(a["date"], a["kind"], a["what"][:40], a["by"][:18]) for a in data["actions"]],
        )
    else:
        doc.paragraph(_("No actions recorded in the period."))
    return doc.to_bytes()


def render_xlsx(report: ClientReport) -> bytes:
    data = report.data
    book = Workbook()
    book.remove(book.active)
    summary = book.create_sheet(_("Summary"))
    facts_sheet(
        summary,
        [
            (_("Client"), data["client"], None),
            (_("Funnel"), data["funnel"], None),
            (_("From"), _date(data["period_start"]), DATE),
            (_("To"), _date(data["period_end"]), DATE),
            (_("Bottleneck"), data["bottleneck"]["stage"], None),
            (_("Explanation"), data["bottleneck"]["explanation"], None),
            (_("Outcomes lost per month"), float(data["bottleneck"]["loss_per_month"]), FLOAT),
        ],
    )
    sheet(
        book,
        _("Funnel"),
        [
            (_("Stage"), None, lambda s: s["label"]),
            (_("Count"), COUNTS, lambda s: s["count"]),
            (_("Rate"), RATE, lambda s: s["rate"]),
            (_("Own history"), RATE, lambda s: s["history"]),
            (_("Benchmark"), RATE, lambda s: s["benchmark"]),
            (_("Difference (pt)"), "0", lambda s: s["diff_pt"]),
        ],
        data["stages"],
    )
    labels = [s["label"] for s in data["stages"]]
    trend_columns: list[Any] = [
        (_("From"), DATE, lambda r: _date(r["period_start"])),
        (_("To"), DATE, lambda r: _date(r["period_end"])),
    ]
    trend_columns += [(label, COUNTS, (lambda r, k=k: r["counts"][k])) for k, label in enumerate(labels)]
    trend_columns += [
        (s["rate_label"], RATE, (lambda r, k=k: r["rates"][k])) for k, s in enumerate(data["stages"]) if k > 0
    ]
    sheet(book, _("Trend"), trend_columns, data["trend"])
    sheet(
        book,
        _("Actions taken"),
        [
            (_("Date"), DATE, lambda a: _date(a["date"])),
            (_("Kind"), None, lambda a: a["kind"]),
            (_("What"), None, lambda a: a["what"]),
            (_("By"), None, lambda a: a["by"]),
        ],
        data["actions"],
    )
    return to_bytes(book)


# Reports in bulk --------------------------------------------------------------------------------------------


def batch_clients(batch: ReportBatch) -> list[Account]:
    """The clients a batch reports on: those the funnel's latest run counted, of the batch's CSM if any."""
    run = computing.latest_run(batch.funnel)
    if run is None:
        return []
    ids = ClientFunnel.objects.filter(run=run, project="").values_list("account_id", flat=True)
    clients = Account.objects.filter(pk__in=ids).order_by("name", "pk")
    return list(clients.filter(owner=batch.owner) if batch.owner_id else clients)


def start_batch(funnel: Funnel, start: dt.date, end: dt.date, owner: User | None, actor: User | None) -> ReportBatch:
    """Queue reports for every client (of one CSM) for the month; the worker makes them with progress."""
    from .report_tasks import generate_reports_task

    batch = ReportBatch.objects.create(
        funnel=funnel, owner=owner, period_start=start, period_end=end, as_of=end, triggered_by=actor
    )
    transaction.on_commit(lambda: generate_reports_task.enqueue(batch.pk))
    return batch


def run_batch(batch: ReportBatch) -> ReportBatch:
    """Carry out a claimed batch: one report per client, progress after each."""
    batch.started_at = timezone.now()
    batch.save(update_fields=["started_at"])
    try:
        clients = batch_clients(batch)
        for done, client in enumerate(clients, start=1):
            generate_report(batch.funnel, client, batch.period_start, batch.period_end, batch.triggered_by, "batch")
            batch.progress(int(done * 100 / len(clients)), client.name, reports=done)
        batch.status, batch.percent = RunStatus.SUCCEEDED, 100
        batch.step = _("%(n)s reports generated") % {"n": batch.reports}
    except Exception as error:
        batch.status, batch.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        batch.finished_at = timezone.now()
        batch.save()
    return batch
