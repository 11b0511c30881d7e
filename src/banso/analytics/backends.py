"""Where the engine's queries run. Each backend hands the engine the same event table (columns
`account_id, end_user_id, kind, occurred_at, value`) and a way to upload small tables (subjects with
their attributes); the metric and segment expressions are the same on all of them.

- `duckdb` (default): embedded, over the Parquet copy of the events (`activity.lake`).
- `postgres`: the app database's own `activity_event` table, when the app runs on PostgreSQL, or the
  PostgreSQL database at BANSO_ANALYTICS_URL.
- `pyspark`: Apache Spark over the Parquet copy, or over a table the cluster already has
  (BANSO_ANALYTICS_EVENTS_TABLE). SPARK_MASTER picks the cluster (default: local mode on all cores).
- `url`: any Ibis connection URL (trino://, clickhouse://, bigquery://, snowflake://…) in
  BANSO_ANALYTICS_URL with the events in BANSO_ANALYTICS_EVENTS_TABLE: the user's warehouse, no copy.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from django.conf import settings
from django.db import connection

from banso.activity import lake
from banso.activity.models import Event

from .engine import EVENT_COLUMNS, EVENT_SCHEMA


class BackendError(RuntimeError):
    """The configured engine cannot be reached or lacks the events table."""


class Backend:
    name = ""
    uses_lake = False

    def __init__(self, con: ibis.BaseBackend) -> None:
        self.con = con

    def events(self, since: dt.date | None = None) -> ir.Table:
        raise NotImplementedError

    def upload(self, table: pa.Table) -> ir.Table:
        """A temporary table holding `table` (subjects and their attributes) for this connection."""
        name = f"banso_tmp_{uuid.uuid4().hex[:12]}"
        return self.con.create_table(name, table, temp=True)

    def _empty_events(self) -> ir.Table:
        return self.upload(
            pa.table({name: pa.array([], type=EVENT_SCHEMA[name].to_pyarrow()) for name in EVENT_COLUMNS})
        )

    def _from_files(self, paths: list[Path]) -> ir.Table:
        if not paths:
            return self._empty_events()
        table = self.con.read_parquet([str(path) for path in paths])
        return table.select(*EVENT_COLUMNS)


class DuckDBBackend(Backend):
    name = "duckdb"
    uses_lake = True

    def __init__(self, root: Path | None = None) -> None:
        # Beyond the memory limit DuckDB spills to disk: under var/, not into the working directory.
        options: dict[str, Any] = {
            "memory_limit": settings.BANSO_DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(Path(settings.VAR_DIR) / "duckdb-tmp"),
        }
        if settings.BANSO_DUCKDB_THREADS:
            options["threads"] = settings.BANSO_DUCKDB_THREADS
        super().__init__(ibis.duckdb.connect(**options))
        self.root = root

    def events(self, since: dt.date | None = None) -> ir.Table:
        return self._from_files(lake.files(since, self.root))


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, url: str = "", events_table: str = "") -> None:
        if url:
            con = ibis.connect(url)
        elif connection.vendor == "postgresql":
            params = connection.get_connection_params()
            con = ibis.postgres.connect(
                host=params.get("host") or None,
                port=int(params.get("port") or 5432),
                user=params.get("user"),
                password=params.get("password"),
                database=params.get("dbname"),
            )
        else:
            raise BackendError("the postgres engine needs the app on PostgreSQL or BANSO_ANALYTICS_URL")
        super().__init__(con)
        self.events_table = events_table or Event._meta.db_table

    def events(self, since: dt.date | None = None) -> ir.Table:
        return self.con.table(self.events_table).select(*EVENT_COLUMNS)


@cache
def spark_session() -> Any:
    """One Spark session per process (starting one takes seconds); times are compared in UTC."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName("banso")
        .master(os.environ.get("SPARK_MASTER", "local[*]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(Path(settings.VAR_DIR) / "spark-warehouse"))
        .config("spark.sql.shuffle.partitions", os.environ.get("BANSO_SPARK_SHUFFLE_PARTITIONS", "8"))
        .getOrCreate()
    )


class SparkBackend(Backend):
    name = "pyspark"
    uses_lake = True

    def __init__(self, root: Path | None = None, events_table: str = "") -> None:
        super().__init__(ibis.pyspark.connect(spark_session()))
        self.root = root
        self.events_table = events_table
        self.uses_lake = not events_table

    def events(self, since: dt.date | None = None) -> ir.Table:
        if self.events_table:
            return self.con.table(self.events_table).select(*EVENT_COLUMNS)
        return self._from_files(lake.files(since, self.root))

    def upload(self, table: pa.Table) -> ir.Table:
        # Straight from Arrow: Ibis would go through pandas, where a missing number becomes NaN, which Spark
        # orders above every number (a rule "size > 45" would then select subjects without a size).
        name = f"banso_tmp_{uuid.uuid4().hex[:12]}"
        spark_session().createDataFrame(table).createOrReplaceTempView(name)
        return self.con.table(name)

    def _from_files(self, paths: list[Path]) -> ir.Table:
        if not paths:
            return self._empty_events()
        # Ibis reads one path on Spark; Spark itself takes the list (only the manifest's files, never a glob).
        name = f"banso_events_{uuid.uuid4().hex[:12]}"
        spark_session().read.parquet(*(str(path) for path in paths)).createOrReplaceTempView(name)
        return self.con.table(name).select(*EVENT_COLUMNS)


class UrlBackend(Backend):
    name = "url"

    def __init__(self, url: str, events_table: str) -> None:
        if not (url and events_table):
            raise BackendError("the url engine needs BANSO_ANALYTICS_URL and BANSO_ANALYTICS_EVENTS_TABLE")
        super().__init__(ibis.connect(url))
        self.events_table = events_table

    def events(self, since: dt.date | None = None) -> ir.Table:
        return self.con.table(self.events_table).select(*EVENT_COLUMNS)


def get_backend(name: str | None = None) -> Backend:
    """The engine named in settings (or `name`), connected."""
    name = name or settings.BANSO_ANALYTICS_BACKEND
    url, table = settings.BANSO_ANALYTICS_URL, settings.BANSO_ANALYTICS_EVENTS_TABLE
    if name == "duckdb":
        return DuckDBBackend()
    if name == "postgres":
        return PostgresBackend(url, table)
    if name == "pyspark":
        return SparkBackend(events_table=table)
    if name == "url":
        return UrlBackend(url, table)
    raise BackendError(f"unknown analytics engine {name!r}: use duckdb, postgres, pyspark or url")
