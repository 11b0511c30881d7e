"""`banso import <entity> <path> --source NAME`: import a CSV/XLSX file, all or nothing."""

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from banso.activity.models import ImportStatus, import_entity_choices
from banso.activity.services import import_path


class Command(BaseCommand):
    help = "Import accounts, contacts, contracts, end users or events from a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", choices=[value for value, _label in import_entity_choices()])
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, help="where the records come from; ids are unique per source")

    def handle(self, *args: Any, entity: str, path: Path, source: str, **options: Any) -> None:
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        started = time.perf_counter()
        last = [0.0]

        def echo(processed: int, total: int) -> None:
            now = time.perf_counter()
            if processed >= total or now - last[0] >= 0.5:
                last[0] = now
                pct = processed * 100 // total if total else 100
                sys.stderr.write(f"\r{entity}: {processed:,}/{total:,} rows ({pct}%)")
                sys.stderr.flush()

        job = import_path(entity, path, source, echo=echo)
        sys.stderr.write("\n")
        elapsed = time.perf_counter() - started
        if job.status != ImportStatus.SUCCEEDED:
            for error in job.errors:
                row = error.get("row")
                where = f"row {row}" if row else "file"
                column = f", column {error['column']}" if error.get("column") else ""
                self.stderr.write(f"{where}{column}: {error['reason']}")
            raise CommandError(f"{path.name}: refused, nothing was imported (import #{job.pk})")
        self.stdout.write(
            f"{path.name}: {job.total_rows:,} rows in {elapsed:.1f} s: {job.created_count:,} created, "
            f"{job.updated_count:,} updated, {job.unchanged_count:,} unchanged (import #{job.pk})"
        )
