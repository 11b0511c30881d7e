"""The import engine: one declarative column spec per record type, vectorised checks, all-or-nothing writes.

Files (CSV in UTF-8 with or without BOM or in Shift_JIS/cp932, XLSX) and JSON API batches become the same
all-string polars frame. Every row is checked before anything is written; any error refuses the whole
batch with a report of (row, column, reason). A clean batch is upserted by (source, external_id) in one
transaction: new records are created, changed ones updated, identical ones left alone, so importing the
same file twice changes nothing. Events are insert-only through the event store.
"""

from .checking import Checked, check
from .reading import decode_to_utf8, frame_from_records, read_csv, read_file, read_xlsx
from .specs import (
    SPECS,
    Column,
    EntitySpec,
    ImportRefused,
    ImportResult,
    Progress,
    register_spec,
    row_error,
    spec_for,
)
from .writing import import_bytes, import_frame, import_records

__all__ = [
    "SPECS",
    "Checked",
    "Column",
    "EntitySpec",
    "ImportRefused",
    "ImportResult",
    "Progress",
    "check",
    "decode_to_utf8",
    "frame_from_records",
    "import_bytes",
    "import_frame",
    "import_records",
    "read_csv",
    "read_file",
    "read_xlsx",
    "register_spec",
    "row_error",
    "spec_for",
]
