"""Computed funnels as pages, exports, the API and reports show them: the clients list of the latest run
(filtered, sorted by loss), one client's stage table with the benchmark and the numbers behind its
bottleneck (the formula of computing/engine with the client's values filled in), and CSV/XLSX exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook

from banso.accounts.models import Account
from banso.core.charts import bar_chart, line_chart, series
from banso.core.models import RunStatus, User
from banso.core.xlsx import FLOAT, RATE, YEN, sheet, to_bytes

from . import computing
from .models import ClientFunnel, Funnel, FunnelRun, FunnelStage

COUNTS = YEN  # #,##0


def latest_run(funnel: Funnel) -> FunnelRun | None:
    """The newest finished computation: the one every page shows."""
    return computing.latest_run(funnel)


def active_run(funnel: Funnel) -> FunnelRun | None:
    return FunnelRun.objects.filter(funnel=funnel, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


def start_run(funnel: Funnel, actor: User | None) -> FunnelRun:
    """Queue a computation for the worker ("recompute now", the API, `banso funnels compute --queue`)."""
    return computing.start_computation(funnel, actor)


@dataclass
class ClientFilters:
    owner: int | None = None
    peer_group: str = ""
    tier: str = ""
    projects: bool = False  # per-project rows instead of clients' totals

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> ClientFilters:
        owner = str(query.get("owner") or "")
        projects = str(query.get("projects") or "").lower() in ("1", "on", "true", "yes")
        return cls(
            owner=int(owner) if owner.isdigit() else None,
            peer_group=str(query.get("peer_group") or ""),
            tier=str(query.get("tier") or ""),
            projects=projects,
        )

    def query(self) -> str:
        parts = []
        if self.owner:
            parts.append(f"owner={self.owner}")
        if self.peer_group:
            parts.append(f"peer_group={self.peer_group}")
        if self.tier:
            parts.append(f"tier={self.tier}")
        if self.projects:
            parts.append("projects=1")
        return "&".join(parts)


def client_rows(run: FunnelRun | None, filters: ClientFilters) -> QuerySet[ClientFunnel]:
    """The run's client funnels, largest loss first (the index on run, -loss serves the order)."""
    if run is None:
        return ClientFunnel.objects.none()
    rows = ClientFunnel.objects.filter(run=run).select_related("account", "account__owner")
    rows = rows.exclude(project="") if filters.projects else rows.filter(project="")
    if filters.owner:
        rows = rows.filter(account__owner_id=filters.owner)
    if filters.peer_group:
        rows = rows.filter(peer_group=filters.peer_group)
    if filters.tier:
        rows = rows.filter(account__tier=filters.tier)
    return rows.order_by("-loss_per_month", "account__name", "project", "pk")


def peer_groups(run: FunnelRun | None) -> list[str]:
    if run is None:
        return []
    values = ClientFunnel.objects.filter(run=run, project="").values_list("peer_group", flat=True).distinct()
    return sorted(v for v in values if v)


def _at(values: Sequence[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _pt(rate: float | None, bench: float | None) -> int | None:
    if rate is None or bench is None:
        return None
    return int(Decimal(str((rate - bench) * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass
class StageLine:
    position: int
    label: str
    rate_label: str
    count: int
    rate: float | None
    history: float | None
    benchmark: float | None
    diff_pt: int | None
    is_bottleneck: bool

    @property
    def rate_text(self) -> str:
        return pct(self.rate)

    @property
    def history_text(self) -> str:
        return pct(self.history)

    @property
    def benchmark_text(self) -> str:
        return pct(self.benchmark)

    @property
    def arrow(self) -> str:
        if self.diff_pt is None or self.diff_pt == 0:
            return ""
        return "▲" if self.diff_pt > 0 else "▼"


def stage_lines(cf: ClientFunnel, stages: Sequence[FunnelStage]) -> list[StageLine]:
    lines = []
    for index, stage in enumerate(stages):
        rate, bench = _at(cf.rates, index), _at(cf.benchmark_rates, index)
        lines.append(
            StageLine(
                position=stage.position,
                label=stage.label,
                rate_label=stage.rate_label or stage.label,
                count=int(_at(cf.counts, index) or 0),
                rate=rate,
                history=_at(cf.history_rates, index),
                benchmark=bench,
                diff_pt=_pt(rate, bench),
                is_bottleneck=cf.bottleneck_position == stage.position,
            )
        )
    return lines


def client_line(cf: ClientFunnel, stages: Sequence[FunnelStage]) -> dict[str, Any]:
    lines = stage_lines(cf, stages)
    bottleneck = next((line.label for line in lines if line.is_bottleneck), "")
    owner = cf.account.owner
    return {"cf": cf, "stages": lines, "bottleneck": bottleneck, "owner": _person(owner)}


def _person(user: User | None) -> str:
    return "" if user is None else user.get_full_name() or user.username


@dataclass
class LossTerm:
    """The bottleneck formula for one stage with the client's numbers: expected = previous × benchmark."""

    label: str
    previous: int
    benchmark: float | None
    expected: float | None
    actual: int
    shortfall: float | None
    downstream: list[tuple[str, float | None]] = field(default_factory=list)
    lost: float | None = None
    lost_per_month: float | None = None


def data_behind(cf: ClientFunnel, stages: Sequence[FunnelStage], period_days: int) -> list[LossTerm]:
    """For each stage from the second: count_{k-1}, benchmark, expected, actual, shortfall, the downstream
    rates it is carried through (the client's own, else the benchmark's) and the outcomes lost per month."""
    terms = []
    for k in range(1, len(stages)):
        previous = int(_at(cf.counts, k - 1) or 0)
        actual = int(_at(cf.counts, k) or 0)
        bench = _at(cf.benchmark_rates, k)
        term = LossTerm(stages[k].label, previous, bench, None, actual, None)
        if bench is not None:
            term.expected = previous * bench
            term.shortfall = max(0.0, term.expected - actual)
            carry = term.shortfall
            for j in range(k + 1, len(stages)):
                rate = _at(cf.rates, j)
                used = rate if rate is not None else _at(cf.benchmark_rates, j)
                term.downstream.append((stages[j].rate_label or stages[j].label, used))
                carry *= used if used is not None else 0.0
            term.lost = carry
            term.lost_per_month = carry * 30 / period_days
        terms.append(term)
    return terms


@dataclass
class ClientView:
    """What the client page, the API's client call and a report need about one client's funnel."""

    result: ClientFunnel | None
    stages: list[StageLine]
    terms: list[LossTerm]
    projects: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    charts: dict[str, Any]
    live: bool  # computed now for another day or project (not the latest run's stored row)


def client_view(funnel: Funnel, account: Account, *, as_of: Any = None, project: str = "") -> ClientView:
    stages = list(funnel.stages.order_by("position"))
    run = latest_run(funnel)
    cf: ClientFunnel | None = None
    live = False
    stored = ClientFunnel.objects.filter(run=run, account=account) if run else ClientFunnel.objects.none()
    if as_of is None or (run is not None and as_of == run.as_of):
        cf = next((row for row in stored if row.project == project), None)
    if cf is None and (as_of is not None or project):
        cf = computed_client_funnel(funnel, account, as_of or (run.as_of if run else None), project)
        live = cf is not None
    projects = []
    if run is not None and not live:
        projects = [client_line(row, stages) for row in stored if row.project]
    trend = trend_rows(funnel, account, as_of or (run.as_of if run else None), project)
    lines = stage_lines(cf, stages) if cf else []
    view = ClientView(
        result=cf,
        stages=lines,
        terms=data_behind(cf, stages, funnel.period_days) if cf else [],
        projects=projects,
        trend=trend,
        charts={},
        live=live,
    )
    view.charts = client_charts(view, stages)
    return view


def computed_client_funnel(funnel: Funnel, account: Account, as_of: Any, project: str) -> ClientFunnel | None:
    """One client's funnel computed now (another day or a project), as an unsaved ClientFunnel."""
    if as_of is None:
        return None
    result = computing.client_funnel(funnel, account, as_of, project=project)
    return ClientFunnel(
        account=account,
        project=project,
        period_start=result.period.start,
        period_end=result.period.end,
        counts=result.counts,
        rates=result.rates,
        history_rates=result.history_rates,
        benchmark_rates=result.benchmark_rates,
        peer_group=result.peer_group,
        peers=result.peers,
        bottleneck_position=result.bottleneck_position,
        loss_per_month=result.loss_per_month,
        explanation=result.explanation,
    )


def trend_rows(funnel: Funnel, account: Account, as_of: Any, project: str = "") -> list[dict[str, Any]]:
    """Counts and rates per period over the funnel's history, oldest first: {period_start, period_end,
    counts, rates}."""
    if as_of is None:
        return []
    table = computing.stage_trend(funnel, account, funnel.history_periods + 1, as_of=as_of)
    return [
        {
            "period_start": row["period_start"],
            "period_end": row["period_end"],
            "counts": list(row["counts"]),
            "rates": list(row["rates"]),
        }
        for row in table.iter_rows(named=True)
    ]


CLIENT_COLUMNS = ("client", "owner", "project", "peer_group")


def _flat(cf: ClientFunnel, stages: Sequence[FunnelStage]) -> list[Any]:
    lines = stage_lines(cf, stages)
    owner = cf.account.owner
    out: list[Any] = [cf.account.name, _person(owner), cf.project]
    out.append(cf.peer_group)
    out += [line.count for line in lines]
    out += [line.rate for line in lines[1:]]
    out += [line.benchmark for line in lines[1:]]
    bottleneck = next((line.label for line in lines if line.is_bottleneck), "")
    out += [bottleneck, cf.explanation, float(cf.loss_per_month)]
    return out


def _headers(stages: Sequence[FunnelStage]) -> list[str]:
    headers = [_("Client"), _("Owner"), _("Project"), _("Peer group")]
    headers += [stage.label for stage in stages]
    headers += [stage.rate_label or stage.label for stage in stages[1:]]
    headers += [_("%(rate)s (benchmark)") % {"rate": stage.rate_label or stage.label} for stage in stages[1:]]
    headers += [_("Bottleneck"), _("Explanation"), _("Outcomes lost per month")]
    return headers


def clients_csv(rows: Sequence[ClientFunnel], stages: Sequence[FunnelStage]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV as Japanese only with the BOM
    writer = csv.writer(out)
    writer.writerow(_headers(stages))
    for cf in rows:
        values = _flat(cf, stages)
        writer.writerow("" if value is None else value for value in values)
    return out.getvalue()


def clients_xlsx(rows: Sequence[ClientFunnel], stages: Sequence[FunnelStage]) -> bytes:
    book = Workbook(write_only=True)
    headers = _headers(stages)
    n = len(stages)
    formats: list[str | None] = [None] * 4 + [COUNTS] * n + [RATE] * (2 * (n - 1)) + [None, None, FLOAT]
    columns = [
        (header, fmt, (lambda row, i=i: row[i])) for i, (header, fmt) in enumerate(zip(headers, formats, strict=True))
    ]
    sheet(book, _("Clients"), columns, [_flat(cf, stages) for cf in rows])
    return to_bytes(book)


def client_charts(view: ClientView, stages: Sequence[FunnelStage]) -> dict[str, Any]:
    """The funnel as bars per stage, and each rate over the periods of the trend (in %)."""
    charts: dict[str, Any] = {}
    if view.stages:
        charts["funnel"] = bar_chart(
            [line.label for line in view.stages], [series(_("Count"), [line.count for line in view.stages])]
        )
    if view.trend:
        labels = [f"{row['period_end']:%Y-%m-%d}" for row in view.trend]
        datasets = [
            series(
                stage.rate_label or stage.label,
                [None if row["rates"][k] is None else round(row["rates"][k] * 100, 1) for row in view.trend],
                k - 1,
            )
            for k, stage in enumerate(stages)
            if k > 0
        ]
        charts["trend"] = line_chart(labels, datasets, y_title="%", y_max=100)
    return charts


def account_panel(account: Account) -> dict[str, Any]:
    """The Account 360 card: the client's funnel in the latest run of the default funnel (two queries);
    shown for accounts the run counted events for, and for clients (kind "client") not counted yet."""
    funnel = Funnel.objects.filter(is_default=True).first()
    run = latest_run(funnel) if funnel else None
    cf = (
        ClientFunnel.objects.filter(run=run, account=account, project="").select_related("account").first()
        if run
        else None
    )
    line = client_line(cf, list(funnel.stages.order_by("position"))) if cf and funnel else None
    return {"account": account, "line": line, "show": line is not None or account.kind == "client"}


def register() -> None:
    """The Account 360 card (called from the app's registry)."""
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability

    register_account_panel(AccountPanel("funnels/_account_panel.html", Capability.VIEW_ACCOUNTS, account_panel))
