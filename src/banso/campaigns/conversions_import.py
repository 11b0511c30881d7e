"""ASP result reports arrive through activity's import engine as the "conversions" record type (files in cp932
or UTF-8 with BOM, XLSX, JSON batches; per-row errors; all or nothing).

A file uses Banso's standard columns (asp, asp_conversion_id, asp_offer_id, click_id, user, occurred_at,
decided_at, status, order_amount, reward), or the layout of its ASP's own report (`conversions.REPORT_FORMATS`,
chosen by `Asp.report_format`): the import's source is then the ASP's code. The engine reads and types every
column any layout knows; this module's writer picks the layout, maps it to the standard columns and hands the
lines to `conversions.upsert_conversions`. Registered from CampaignsConfig.ready() through registry.py."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.activity.importing import (
    Checked,
    Column,
    EntitySpec,
    ImportRefused,
    ImportResult,
    Progress,
    register_spec,
    row_error,
)
from banso.activity.importing.specs import ROW

from .conversions import (
    REPORT_FORMATS,
    REQUIRED,
    STANDARD_COLUMNS,
    ConversionIn,
    ReportFormat,
    all_report_headers,
    upsert_conversions,
)
from .models import Asp, Conversion

ENTITY = "conversions"
STANDARD = "standard"


def _columns() -> tuple[Column, ...]:
    out = []
    for header, standard in all_report_headers().items():
        kind, max_length = STANDARD_COLUMNS[standard] if standard else ("str", None)
        out.append(Column(header, kind, max_length=max_length))
    return tuple(out)


def layout_for(present: tuple[str, ...], source: str) -> tuple[ReportFormat, list[dict[str, Any]]]:
    """The layout a file follows: the standard one when every column is standard, else its ASP's (the source
    names the ASP). Returns the header errors when the columns fit neither."""
    standard = REPORT_FORMATS[STANDARD]
    foreign = [h for h in present if h not in standard.columns]
    if not foreign:
        return standard, []
    asp = Asp.objects.filter(code=source).first()
    if asp is None:
        return standard, [
            row_error(
                1,
                header,
                _(
                    "This column belongs to an ASP's own report layout: import the file with the ASP's code "
                    "(%(codes)s) as the source."
                )
                % {"codes": ", ".join(Asp.objects.values_list("code", flat=True)) or "-"},
            )
            for header in foreign
        ]
    layout = REPORT_FORMATS.get(asp.report_format)
    if layout is None:
        return standard, [
            row_error(
                1,
                "",
                _("ASP %(asp)s has the report format %(format)s, which Banso does not know.")
                % {"asp": asp.name, "format": asp.report_format},
            )
        ]
    if layout is standard:
        names = ", ".join(standard.columns)
        return standard, [
            row_error(
                1,
                header,
                _("%(asp)s reports in Banso's standard columns: %(columns)s") % {"asp": asp.name, "columns": names},
            )
            for header in foreign
        ]
    wrong = [h for h in present if h not in layout.columns]
    return layout, [
        row_error(
            1,
            header,
            _("Not a column of the %(layout)s report that %(asp)s sends. Expected columns: %(columns)s")
            % {"layout": layout.label, "asp": asp.name, "columns": ", ".join(layout.columns)},
        )
        for header in wrong
    ]


def lines_from(checked: Checked) -> tuple[list[ConversionIn], dict[str, str]]:
    """The checked frame as standard lines, and each standard column's name in the file (for errors)."""
    layout, errors = layout_for(checked.present, checked.source)
    if errors:
        raise ImportRefused(errors, total_rows=checked.frame.height)
    present = set(checked.present)
    names = {standard: layout.header_for(standard, present) for standard in STANDARD_COLUMNS}
    for standard in REQUIRED:
        sources = [h for h, s in layout.columns.items() if s == standard and h in present]
        if not sources:
            errors.append(row_error(1, names[standard], _("Required column is missing.")))
    if errors:
        raise ImportRefused(errors, total_rows=checked.frame.height)
    # Several headers may fill one standard column (asp_conversion_id or external_id): the first given wins.
    fill: dict[str, list[str]] = {}
    for header, target in layout.columns.items():
        if target and header in present:
            fill.setdefault(target, []).append(header)
    lines = []
    for row in checked.frame.iter_rows(named=True):
        values: dict[str, Any] = {}
        for standard in STANDARD_COLUMNS:
            values[standard] = next((row[h] for h in fill.get(standard, ()) if row[h] is not None), None)
        lines.append(ConversionIn(row=row[ROW], **values))
    return lines, names


def _write(checked: Checked, actor: Any, progress: Progress | None) -> ImportResult:
    lines, names = lines_from(checked)
    result = upsert_conversions(lines, source=checked.source, columns=names, actor=actor)
    if progress:
        progress(len(lines), len(lines))
    return result


CONVERSION_SPEC = EntitySpec(ENTITY, Conversion, _columns(), account_attr="offer_id", write=_write)


def register() -> None:
    register_spec(CONVERSION_SPEC, gettext_lazy("ASP conversions"))
