"""Arrow-native (ADBC) connections to the app database on PostgreSQL, for moving columns by the million.

Fetching or binding rows as Python tuples costs seconds per million (measured on PostgreSQL: 1M events
read in 1.5 s instead of 15.3 s). An ADBC connection is a second connection: it sees only committed data
and writes in its own transaction, so callers fall back to Django's connection where that matters, and
always on SQLite (see `connect`).
"""

import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import polars as pl
from django.db import connection


def connect(*, writing: bool = False) -> Any | None:
    """A new ADBC connection to the default database (the caller closes it), or None when Django's own
    connection must be used: on SQLite (see below), or, for `writing`, when a transaction is already open
    on Django's connection (its writes would be invisible to the second connection)."""
    params = connection.settings_dict
    if writing and connection.in_atomic_block:
        return None
    if connection.vendor != "postgresql":
        # Never on SQLite: the ADBC driver carries its own copy of the SQLite library, and two copies in one
        # process corrupt a database (POSIX locks are per process: closing one copy's file releases the
        # other's locks; https://www.sqlite.org/howtocorrupt.html section 2.2.1). Seen here: the demo's
        # database "malformed" after its first recompute.
        return None
    import adbc_driver_postgresql.dbapi

    user = quote(str(params.get("USER") or ""))
    password = f":{quote(str(params['PASSWORD']))}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    uri = f"postgresql://{user}{password}{'@' if user else ''}{host}{port}/{quote(str(params['NAME']))}"
    return adbc_driver_postgresql.dbapi.connect(uri)


def marks(count: int) -> list[str]:
    """Parameter markers for the ADBC PostgreSQL driver: $1, $2…"""
    return [f"${i}" for i in range(1, count + 1)]


COPY_CHUNK = 1 << 20


def insert_frame(table: str, frame: pl.DataFrame, columns: Sequence[str]) -> int:
    """Insert a polars frame's `columns` (already in the table's column order and database-ready
    types: strings for dates and decimals, JSON text for JSON) into `table` through Django's connection,
    inside the caller's transaction: COPY on PostgreSQL, one executemany elsewhere. Model instances and
    bulk_create cost far more at this size (100,000 health snapshots: 31 s on PostgreSQL). Returns the rows."""
    if frame.is_empty():
        return 0
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    name = connection.ops.quote_name(table)
    rows = frame.select(list(columns))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            rows.write_csv(buffer, include_header=False, null_value="")
            raw = cursor.cursor  # the psycopg cursor underneath Django's wrapper
            with raw.copy(f"COPY {name} ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy:
                view = buffer.getbuffer()
                for start in range(0, len(view), COPY_CHUNK):
                    copy.write(view[start : start + COPY_CHUNK])
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", rows.rows())  # noqa: S608
    return rows.height


def update_rows(objects: Sequence[Any], fields: Sequence[str]) -> int:
    """Write `fields` of saved model instances (one model) by primary key: one `UPDATE … WHERE pk = %s`
    through executemany, inside the caller's transaction. Django's bulk_update sends one CASE per field with a
    branch per row, which the database evaluates for every row: the cost grows with the batch (about 5 ms a
    row for 2,400 results of ten fields); this stays linear. Returns the rows given."""
    if not objects:
        return 0
    meta = objects[0]._meta
    model_fields = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in model_fields)
    table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in model_fields] + [obj.pk] for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)  # noqa: S608
    return len(rows)
