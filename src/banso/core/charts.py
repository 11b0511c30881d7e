"""Chart.js configurations built on the server: a page passes one to `json_script` and a
`<canvas data-chart="ID">`, and core/static/core/charts.js draws it (include core/_chart_assets.html in
the page's `head` block). Values are plain numbers: the chart shows them, the tables beside it stay exact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# A palette readable in print and by most colour-blind readers (Okabe–Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def series(label: str, values: Sequence[float | int | None], index: int = 0, **extra: Any) -> dict[str, Any]:
    colour = PALETTE[index % len(PALETTE)]
    return {"label": label, "data": list(values), "borderColor": colour, "backgroundColor": colour, **extra}


def line_chart(
    labels: Sequence[str], datasets: Sequence[dict[str, Any]], *, y_title: str = "", y_max: float | None = None
) -> dict[str, Any]:
    y: dict[str, Any] = {"title": {"display": bool(y_title), "text": y_title}}
    if y_max is not None:
        y.update(min=0, max=y_max)
    return {
        "type": "line",
        "data": {"labels": list(labels), "datasets": list(datasets)},
        "options": {"scales": {"y": y}, "spanGaps": True, "plugins": {"legend": {"position": "bottom"}}},
    }


def bar_chart(
    labels: Sequence[str], datasets: Sequence[dict[str, Any]], *, y_title: str = "", stacked: bool = False
) -> dict[str, Any]:
    return {
        "type": "bar",
        "data": {"labels": list(labels), "datasets": list(datasets)},
        "options": {
            "scales": {
                "x": {"stacked": stacked},
                "y": {"stacked": stacked, "title": {"display": bool(y_title), "text": y_title}},
            },
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
