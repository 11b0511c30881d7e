"""Closed months never change: database triggers refuse any UPDATE or DELETE of a statement, statement line,
invoice or invoice line that belongs to a closed MonthClose (and reopening or deleting a closed close).

Triggers rather than a `save()` guard, because they also stop `QuerySet.update()`, `delete()`, raw SQL and
other programs writing to the database. The one change allowed is filling in a document's `pdf_path` after
the close (the PDFs are written once the close has committed). PostgreSQL uses one PL/pgSQL function (rows
compared as JSON without `pdf_path`); SQLite gets one trigger per table and operation. Both raise an
integrity error ("billing: … closed month …"). TRUNCATE (the benchmark's reset) is not a row change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

GUARDED = {
    # table: SQL that selects the row's close status from OLD
    "billing_statement": "SELECT c.close_status FROM billing_monthclose c WHERE c.id = OLD.close_id",
    "billing_invoice": "SELECT c.close_status FROM billing_monthclose c WHERE c.id = OLD.close_id",
    "billing_statementline": (
        "SELECT c.close_status FROM billing_statement s JOIN billing_monthclose c ON c.id = s.close_id "
        "WHERE s.id = OLD.statement_id"
    ),
    "billing_invoiceline": (
        "SELECT c.close_status FROM billing_invoice i JOIN billing_monthclose c ON c.id = i.close_id "
        "WHERE i.id = OLD.invoice_id"
    ),
}
MUTABLE_COLUMN = "pdf_path"
MESSAGE = "billing: this row belongs to a closed month and cannot be changed (corrections are adjustments)"

_PG_BRANCHES = " ".join(
    f"{'IF' if i == 0 else 'ELSIF'} TG_TABLE_NAME = '{table}' THEN "
    + select.replace("SELECT c.close_status", "SELECT c.close_status INTO status")
    + ";"
    for i, (table, select) in enumerate(GUARDED.items())
)
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION billing_closed_guard() RETURNS trigger AS $$
DECLARE status text;
BEGIN
  IF TG_TABLE_NAME = 'billing_monthclose' THEN
    IF OLD.close_status = 'closed' AND (TG_OP = 'DELETE' OR NEW.close_status <> 'closed' OR NEW.as_of <> OLD.as_of)
    THEN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
  ELSE
    {_PG_BRANCHES}
    END IF;
    IF status = 'closed' AND NOT (
      TG_OP = 'UPDATE' AND (to_jsonb(NEW) - '{MUTABLE_COLUMN}') = (to_jsonb(OLD) - '{MUTABLE_COLUMN}')
    ) THEN
      RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def _tables() -> list[str]:
    return [*GUARDED, "billing_monthclose"]


def _sqlite_columns(cursor: Any, table: str) -> list[str]:
    cursor.execute(f"PRAGMA table_info({table})")
    return [row[1] for row in cursor.fetchall() if row[1] != MUTABLE_COLUMN]


def install(apps: Any = None, schema_editor: Any = None) -> None:
    """Create the triggers (idempotent); also a migration's RunPython function."""
    conn = schema_editor.connection if schema_editor is not None else connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
            for table in _tables():
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_closed_guard ON {table}")
                cursor.execute(
                    f"CREATE TRIGGER {table}_closed_guard BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION billing_closed_guard()"
                )
            return
        if conn.vendor != "sqlite":
            return
        for table, select in GUARDED.items():
            closed = f"({select}) = 'closed'"
            changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in _sqlite_columns(cursor, table))
            for operation, when in (("UPDATE", f"{closed} AND ({changed})"), ("DELETE", closed)):
                name = f"{table}_closed_{operation.lower()}"
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW WHEN {when} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )
        reopen = "OLD.close_status = 'closed' AND (NEW.close_status IS NOT 'closed' OR NEW.as_of IS NOT OLD.as_of)"
        for operation, when in (("UPDATE", reopen), ("DELETE", "OLD.close_status = 'closed'")):
            name = f"billing_monthclose_closed_{operation.lower()}"
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON billing_monthclose FOR EACH ROW WHEN {when} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def uninstall(apps: Any = None, schema_editor: Any = None) -> None:
    conn = schema_editor.connection if schema_editor is not None else connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for table in _tables():
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_closed_guard ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS billing_closed_guard()")
        elif conn.vendor == "sqlite":
            for table in _tables():
                for operation in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_closed_{operation}")


@contextmanager
def lifted() -> Iterator[None]:
    """Only for throwing whole benchmark data sets away: the triggers are dropped and put back."""
    uninstall()
    try:
        yield
    finally:
        install()


def _after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    conn = connections[using]
    if sender.label == "billing" and set(_tables()) <= set(conn.introspection.table_names()):
        install(schema_editor=_Editor(conn))


class _Editor:
    def __init__(self, conn: Any) -> None:
        self.connection = conn


def register() -> None:
    """Put the triggers back after every migrate: SQLite drops a table's triggers when a migration rebuilds
    the table (most column changes), so the migration that created them is not enough on its own."""
    from django.db.models.signals import post_migrate

    post_migrate.connect(_after_migrate, dispatch_uid="billing_closed_guard")
