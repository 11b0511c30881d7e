"""SLA attainment: for a month (Asia/Tokyo) or a date range, per agent and per team and for each target, the
measurements due in the period, met in time, breached, still running, the attainment rate and the median /
p90 business minutes taken; the same figures as an XLSX workbook. Page, API and CLI all call `build`."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from banso.core import xlsx
from banso.core.business_hours import TOKYO
from banso.core.models import Team, User

from .models import SlaMeasurement, SlaMetric

# Inquiry numbers kept per row for the drill-down links (a long list is cut; the counts stay exact).
DRILL_LIMIT = 300


@dataclass
class Figures:
    due: int = 0
    met: int = 0
    breached: int = 0
    running: int = 0
    minutes: list[int] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    breached_numbers: list[int] = field(default_factory=list)

    def add(self, *, met: bool, breached: bool, minutes: int | None, number: int) -> None:
        self.due += 1
        if breached:
            self.breached += 1
            if len(self.breached_numbers) < DRILL_LIMIT:
                self.breached_numbers.append(number)
        elif met:
            self.met += 1
        else:
            self.running += 1
        if minutes is not None:
            self.minutes.append(minutes)
        if len(self.numbers) < DRILL_LIMIT:
            self.numbers.append(number)

    @property
    def attainment(self) -> float | None:
        """Met in time / (met in time + breached); targets still running do not count yet."""
        decided = self.met + self.breached
        return self.met / decided if decided else None

    @property
    def median(self) -> float | None:
        return _percentile(self.minutes, 0.5)

    @property
    def p90(self) -> float | None:
        return _percentile(self.minutes, 0.9)

    def as_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "met": self.met,
            "breached": self.breached,
            "running": self.running,
            "attainment": self.attainment,
            "median_minutes": self.median,
            "p90_minutes": self.p90,
        }


def _percentile(values: list[int], q: float) -> float | None:
    """Nearest-rank percentile (the median of an even count is the mean of the middle two)."""
    if not values:
        return None
    ordered = sorted(values)
    if q == 0.5:
        mid = len(ordered) // 2
        return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return float(ordered[max(math.ceil(q * len(ordered)) - 1, 0)])


@dataclass
class Row:
    """One agent or team and one target."""

    key: int | None
    name: str
    metric: str
    metric_label: str
    figures: Figures


@dataclass
class Attainment:
    start: dt.date
    end: dt.date  # inclusive
    computed_at: dt.datetime
    totals: list[Row]
    agents: list[Row]
    teams: list[Row]

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def month_range(first: dt.date) -> tuple[dt.date, dt.date]:
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time(), TOKYO),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), TOKYO),
    )


METRICS = list(SlaMetric)


def _rows(groups: dict[tuple[int | None, str], Figures], names: dict[int, str]) -> list[Row]:
    order = {m.value: i for i, m in enumerate(METRICS)}
    rows = [
        Row(key, names.get(key, "") if key is not None else _("(unassigned)"), metric, str(SlaMetric(metric).label), f)
        for (key, metric), f in groups.items()
    ]
    rows.sort(key=lambda r: (r.key is None, r.name, order[r.metric]))
    return rows


def build(start: dt.date, end: dt.date, *, now: dt.datetime | None = None) -> Attainment:
    """Targets due between `start` and `end` (inclusive, Tokyo dates). A target open past due counts as breached
    even before the minute job has marked it; it is attributed to whoever it was with when met or breached
    (an open one to the inquiry's current assignee and team)."""
    now = now or timezone.now()
    lower, upper = _bounds(start, end)
    # Open / late decided by the database: reading two datetimes per row cost most of the time.
    rows = (
        SlaMeasurement.objects.filter(due_at__gte=lower, due_at__lt=upper)
        .annotate(
            is_open=ExpressionWrapper(Q(achieved_at__isnull=True), output_field=BooleanField()),
            late=ExpressionWrapper(
                Q(breached=True) | Q(achieved_at__isnull=True, due_at__lte=now), output_field=BooleanField()
            ),
        )
        .values_list(
            "metric",
            "assignee_id",
            "team_id",
            "inquiry__assignee_id",
            "inquiry__team_id",
            "is_open",
            "late",
            "business_minutes",
            "inquiry__number",
        )
    )
    totals: dict[tuple[int | None, str], Figures] = defaultdict(Figures)
    agents: dict[tuple[int | None, str], Figures] = defaultdict(Figures)
    teams: dict[tuple[int | None, str], Figures] = defaultdict(Figures)
    for metric, assignee, team, inq_assignee, inq_team, is_open, late, minutes, number in rows.iterator(
        chunk_size=5000
    ):
        for figures in (
            totals[(None, metric)],
            agents[(assignee if assignee is not None else inq_assignee, metric)],
            teams[(team if team is not None else inq_team, metric)],
        ):
            figures.add(met=not is_open, breached=late, minutes=minutes, number=number)
    agent_names = {u.pk: str(u) for u in User.objects.filter(pk__in={k for k, _m in agents if k is not None})}
    team_names = dict(Team.objects.filter(pk__in={k for k, _m in teams if k is not None}).values_list("pk", "name"))
    total_rows = [
        Row(None, _("All inquiries"), m.value, str(m.label), totals.get((None, m.value), Figures())) for m in METRICS
    ]
    return Attainment(start, end, now, total_rows, _rows(agents, agent_names), _rows(teams, team_names))


def as_json(report: Attainment) -> dict[str, Any]:
    def row(r: Row, kind: str) -> dict[str, Any]:
        return {kind: r.key, "name": r.name, "metric": r.metric, **r.figures.as_dict()}

    return {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "totals": [{"metric": r.metric, **r.figures.as_dict()} for r in report.totals],
        "agents": [row(r, "agent_id") for r in report.agents],
        "teams": [row(r, "team_id") for r in report.teams],
    }


def _columns(first: str) -> list[xlsx.Column]:
    return [
        (first, None, lambda r: r.name),
        (_("Target"), None, lambda r: r.metric_label),
        (_("Due in period"), xlsx.COUNT, lambda r: r.figures.due),
        (_("Met in time"), xlsx.COUNT, lambda r: r.figures.met),
        (_("Breached"), xlsx.COUNT, lambda r: r.figures.breached),
        (_("Still running"), xlsx.COUNT, lambda r: r.figures.running),
        (_("Attainment"), xlsx.RATE, lambda r: r.figures.attainment),
        (_("Median (business minutes)"), xlsx.FLOAT, lambda r: r.figures.median),
        (_("p90 (business minutes)"), xlsx.FLOAT, lambda r: r.figures.p90),
    ]


def workbook(report: Attainment) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("Summary")[:31]
    xlsx.facts_sheet(
        summary,
        [
            (_("First day"), report.start, xlsx.DATE),
            (_("Last day"), report.end, xlsx.DATE),
            *((f"{r.metric_label}: {_('Attainment')}", r.figures.attainment, xlsx.RATE) for r in report.totals),
        ],
    )
    xlsx.sheet(book, _("By target"), _columns(_("Scope")), report.totals)
    xlsx.sheet(book, _("By agent"), _columns(_("Agent")), report.agents)
    xlsx.sheet(book, _("By team"), _columns(_("Team")), report.teams)
    return xlsx.to_bytes(book)


def numbers_param(numbers: Iterable[int]) -> str:
    return ",".join(str(n) for n in numbers)
