"""The account list as a file for Excel: CSV (UTF-8 with BOM, streamed, any size) and XLSX (real yen and
date cells, Japanese headers), with the same filters and order as the list page."""

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from banso.core.models import User

from .choices import AccountKind, LifecycleStage, TouchTier
from .models import Account
from .services import AccountFilters, account_queryset

# Past this, XLSX (built in memory) is refused in favour of CSV, which streams.
XLSX_MAX_ROWS = 20_000
YEN_FORMAT = '"¥"#,##0'
DATE_FORMAT = "yyyy-mm-dd"


def _headers() -> list[str]:
    return [
        _("Source"), _("External id"), _("Name"), _("Reading"), _("Kind"), _("Owner CSM"),
        _("Touch tier"), _("Stage"), _("Industry"), _("MRR"), _("Next renewal"), _("Updated"),
    ]  # fmt: skip


def _rows(accounts: QuerySet[Account]) -> Iterator[list[Any]]:
    # Plain tuples and labels translated once per export: model instances and get_FOO_display (which
    # translates on every call) were nine tenths of a 100,000-account export.
    kinds, tiers, stages = ({k: str(v) for k, v in c.choices} for c in (AccountKind, TouchTier, LifecycleStage))
    owners = {u.pk: str(u) for u in User.objects.filter(owned_accounts__isnull=False).distinct()}
    values = accounts.values_list(
        "source", "external_id", "name", "name_kana", "kind", "owner_id", "tier", "lifecycle_stage",
        "industry", "mrr", "next_renewal_date", "updated_at",
    )  # fmt: skip
    for source, ext, name, kana, kind, owner, tier, stage, industry, mrr, renewal, updated in values.iterator(
        chunk_size=5000
    ):
        yield [
            source, ext, name, kana, kinds.get(kind, kind), owners.get(owner, ""), tiers.get(tier, tier),
            stages.get(stage, stage), industry, mrr, renewal, timezone.localdate(updated) if updated else None,
        ]  # fmt: skip


def export_queryset(filters: AccountFilters) -> QuerySet[Account]:
    return account_queryset(filters)


def csv_chunks(filters: AccountFilters) -> Iterator[bytes]:
    """CSV lines as UTF-8 with a BOM, so Excel in Japan opens it without garbling."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_headers())
    yield "\ufeff".encode() + buffer.getvalue().encode()
    for row in _rows(export_queryset(filters)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if v is None else v for v in row])
        yield buffer.getvalue().encode()


class TooManyRows(ValueError):
    pass


def xlsx_bytes(filters: AccountFilters) -> bytes:
    accounts = export_queryset(filters)
    if accounts.count() > XLSX_MAX_ROWS:
        raise TooManyRows(XLSX_MAX_ROWS)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Accounts"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in _headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    mrr_col, renewal_col, updated_col = 9, 10, 11
    for row in _rows(accounts):
        cells = [WriteOnlyCell(sheet, value=v) for v in row]
        cells[mrr_col].number_format = YEN_FORMAT
        cells[renewal_col].number_format = DATE_FORMAT
        cells[updated_col].number_format = DATE_FORMAT
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
