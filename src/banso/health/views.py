"""Health pages: the overview (bands, accounts by score or change), scorecards with their designer and
versions, an account's health (trend, explanation, what moved it) and rescore runs. Each reads and writes
through `services`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.analytics.specs import SpecError
from banso.core import charts
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import services
from .forms import CardEditor, MeasureFormSet, MeasureRowForm
from .models import Band, HealthRun, HealthSnapshot, Scorecard

PER_PAGE = 50
RUNS_SHOWN = 5
TREND_DAYS = 180
SORTS = {
    "score": ("score", "account_id"),
    "-score": ("-score", "account_id"),
    "change": ("change", "account_id"),
    "-change": ("-change", "account_id"),
}
BAND_COLOURS = {"red": "#D55E00", "yellow": "#E69F00", "green": "#009E73"}


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _can_manage(request: HttpRequest) -> bool:
    return has_capability(request.user, Capability.MANAGE_HEALTH)


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


# Overview ------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    day = _day(request.GET.get("day")) or services.latest_day()
    card_id = request.GET.get("card") or ""
    band = request.GET.get("band") or ""
    owner = request.GET.get("owner") or ""
    sort = request.GET.get("sort") or "score"
    if sort not in SORTS:
        sort = "score"
    page = None
    distribution: dict[str, int] = {}
    if day is not None:
        snapshots = HealthSnapshot.objects.filter(day=day).select_related("account", "account__owner", "scorecard")
        if card_id.isdigit():
            snapshots = snapshots.filter(scorecard_id=int(card_id))
        if band in Band.values:
            snapshots = snapshots.filter(band=band)
        if owner.isdigit():
            snapshots = snapshots.filter(account__owner_id=int(owner))
        distribution = services.band_distribution(day, int(card_id) if card_id.isdigit() else None)
        if sort in ("change", "-change"):
            snapshots = snapshots.exclude(change__isnull=True)
        page = Paginator(snapshots.order_by(*SORTS[sort]), PER_PAGE).get_page(request.GET.get("page"))
    total = sum(distribution.values())
    bands = [
        {
            "code": code,
            "label": label,
            "count": distribution.get(code, 0),
            "share": _share(distribution.get(code, 0), total),
        }
        for code, label in Band.choices
    ]
    runs = list(HealthRun.objects.select_related("triggered_by")[:RUNS_SHOWN])
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    context = {
        "day": day,
        "page": page,
        "bands": bands,
        "total": total,
        "cards": Scorecard.objects.all(),
        "owners": User.objects.filter(owned_accounts__isnull=False).distinct().order_by("username"),
        "filters": {"card": card_id, "band": band, "owner": owner, "sort": sort},
        "query": query.urlencode(),
        "next_sort": {
            "score": "-score" if sort == "score" else "score",
            "change": "-change" if sort == "change" else "change",
        },
        "runs": runs,
        "polling": any(run.running for run in runs),
        "can_manage": _can_manage(request),
    }
    return render(request, "health/index.html", context)


def _share(n: int, total: int) -> float:
    return round(100 * n / total, 1) if total else 0.0


# Runs ----------------------------------------------------------------------------------------------


@requires(Capability.MANAGE_HEALTH)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    running = services.active_run()
    if running is not None:
        messages.info(request, _("A rescore is already waiting or running; it is shown below."))
        return redirect("health:run", pk=running.pk)
    run = services.start_rescore(_actor(request))
    messages.success(request, _("The rescore was queued; the worker runs it in the background."))
    return redirect("health:run", pk=run.pk)


@requires(Capability.VIEW_ACCOUNTS)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(HealthRun.objects.select_related("triggered_by"), pk=pk)
    return render(request, "health/run.html", {"run": run, "running": run.running})


@requires(Capability.VIEW_ACCOUNTS)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx while the run goes; when it ends, the page reloads."""
    return progress_fragment(request, "health/_run_progress.html", get_object_or_404(HealthRun, pk=pk))


# Scorecards ----------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def scorecard_list(request: HttpRequest) -> HttpResponse:
    cards = sorted(
        Scorecard.objects.select_related("segment", "current"),
        key=lambda c: (not c.is_active, c.is_default, c.priority, c.pk),
    )
    day = services.latest_day()
    counts: dict[int, int] = {}
    if day is not None:
        found = HealthSnapshot.objects.filter(day=day).values("scorecard_id").annotate(n=Count("id"))
        counts = {row["scorecard_id"]: row["n"] for row in found}
    rows = [
        {
            "card": card,
            "measures": len((card.current.definition if card.current else {}).get("measures", [])),
            "scored": counts.get(card.pk, 0),
        }
        for card in cards
    ]
    return render(request, "health/scorecards.html", {"rows": rows, "day": day, "can_manage": _can_manage(request)})


@requires(Capability.VIEW_ACCOUNTS)
def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(Scorecard.objects.select_related("segment", "current"), pk=pk)
    versions = list(card.versions.select_related("created_by").order_by("number"))
    listed = []
    for previous, version in zip([None, *versions], versions, strict=False):
        listed.append(
            {
                "version": version,
                "changes": services.version_changes(previous.definition if previous else None, version.definition),
            }
        )
    options = services.measure_options()
    current = services.definition_of(card.current) if card.current else None
    measures = []
    if current is not None:
        total = sum(m.weight for m in current.measures)
        for m in current.measures:
            measures.append(
                {
                    "label": services.measure_label(m.key, options, m.label),
                    "key": m.key,
                    "weight": m.weight,
                    "share": round(100 * m.weight / total, 1),
                    "mapping": services._mapping_text(m.mapping),
                }
            )
    day = services.latest_day()
    context = {
        "card": card,
        "versions": list(reversed(listed)),
        "measures": measures,
        "bands": current.bands if current else None,
        "distribution": services.band_distribution(day, card.pk) if day else None,
        "day": day,
        "can_manage": _can_manage(request),
    }
    return render(request, "health/scorecard_detail.html", context)


def _designer(request: HttpRequest, editor: CardEditor) -> HttpResponse:
    return render(
        request,
        "health/scorecard_form.html",
        {"editor": editor, "form": editor.form, "rows": editor.rows, "card": editor.card},
    )


def _save(request: HttpRequest, editor: CardEditor) -> Scorecard | None:
    definition = editor.definition()
    if definition is None:
        return None
    data = editor.form.cleaned_data
    try:
        return services.save_scorecard(
            _actor(request),
            name=data["name"] or "",
            description=data["description"] or "",
            segment=data["segment"],
            tier=data["tier"] or "",
            priority=data["priority"],
            is_active=data["is_active"],
            note=data["note"] or "",
            definition=definition,
            instance=editor.card,
        )
    except SpecError as error:
        editor.place_errors(error.errors)
        return None


@requires(Capability.MANAGE_HEALTH)
def scorecard_create(request: HttpRequest) -> HttpResponse:
    editor = CardEditor(request.POST or None)
    if request.method == "POST":
        card = _save(request, editor)
        if card is not None:
            messages.success(request, _("The scorecard “%(name)s” was created.") % {"name": card.name})
            return redirect("health:scorecard", pk=card.pk)
    return _designer(request, editor)


@requires(Capability.MANAGE_HEALTH)
def scorecard_edit(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(Scorecard.objects.select_related("current"), pk=pk)
    editor = CardEditor(request.POST or None, card=card)
    if request.method == "POST":
        before = card.current_id
        saved = _save(request, editor)
        if saved is not None:
            if saved.current_id != before:
                messages.success(
                    request, _("Saved as version %(n)s.") % {"n": saved.current.number if saved.current else ""}
                )
            else:
                messages.success(request, _("The scorecard “%(name)s” was saved.") % {"name": saved.name})
            return redirect("health:scorecard", pk=saved.pk)
        card.refresh_from_db()
    return _designer(request, editor)


@requires(Capability.MANAGE_HEALTH)
def measure_row(request: HttpRequest) -> HttpResponse:
    """One more measure row for the designer (htmx), with the row count bumped out of band."""
    try:
        index = max(0, int(request.GET.get("m-TOTAL_FORMS", "0")))
    except ValueError:
        index = 0
    formset = MeasureFormSet(prefix="m")
    row = MeasureRowForm(prefix=formset.add_prefix(index), initial={"weight": 10, "mapping": "range"})
    formset.add_fields(row, index)
    return render(request, "health/_measure_row.html", {"row": row, "total": index + 1, "oob": True})


@requires(Capability.MANAGE_HEALTH)
@require_POST
def scorecard_preview(request: HttpRequest) -> HttpResponse:
    """The score distribution the draft card would give every account today (nothing is stored)."""
    editor = CardEditor(request.POST)
    definition = editor.definition()
    context: dict[str, Any] = {"as_of": timezone.localdate()}
    if definition is None:
        context["errors"] = [_("Complete the highlighted fields first.")]
        return render(request, "health/_preview.html", context)
    try:
        found = services.preview(definition)
    except SpecError as error:
        context["errors"] = [f"{field}: {message}" if field else message for field, message in error.errors]
        return render(request, "health/_preview.html", context)
    labels = [f"{10 * i}–{10 * i + 9 if i < 9 else 100}" for i in range(10)]
    colours = [_bucket_colour(10 * i, definition["bands"]) for i in range(10)]
    chart = charts.bar_chart(labels, [{**charts.series(_("Accounts"), found["buckets"]), "backgroundColor": colours}])
    context.update(found=found, chart=chart, total=found["accounts"])
    return render(request, "health/_preview.html", context)


def _bucket_colour(low: int, bands: dict[str, float]) -> str:
    if low + 10 <= bands["red_below"]:
        return BAND_COLOURS["red"]
    return BAND_COLOURS["green"] if low >= bands["green_from"] else BAND_COLOURS["yellow"]


# An account's health -------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def account_health(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=account_id)
    today = timezone.localdate()
    points = services.history(account_id, today - dt.timedelta(days=TREND_DAYS))
    chosen = _day(request.GET.get("day"))
    snap = services.snapshot_on(account_id, chosen)
    explanation = services.explain(snap) if snap else None
    against = _day(request.GET.get("against"))
    comparison = services.compare(account_id, snap.day, against) if snap else None
    chart = None
    if points:
        labels = [p.day.isoformat() for p in points]
        bands = services.definition_of(snap.version).bands if snap else None
        datasets = [charts.series(_("Health score"), [float(p.score) for p in points], 0)]
        if bands is not None:
            for name, value, colour in (
                (_("Red below"), bands.red_below, BAND_COLOURS["red"]),
                (_("Green from"), bands.green_from, BAND_COLOURS["green"]),
            ):
                datasets.append(
                    {
                        "label": f"{name} {value:g}",
                        "data": [value] * len(points),
                        "borderColor": colour,
                        "backgroundColor": colour,
                        "borderDash": [6, 4],
                        "pointRadius": 0,
                        "borderWidth": 1,
                    }
                )
        chart = charts.line_chart(labels, datasets, y_title=_("Score"), y_max=100)
    context = {
        "account": account,
        "snap": snap,
        "explanation": explanation,
        "comparison": comparison,
        "chart": chart,
        "days": [p.day for p in reversed(points)],
        "chosen": snap.day if snap else None,
        "against": against,
    }
    return render(request, "health/account.html", context)
