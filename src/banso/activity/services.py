"""Import jobs: storing an upload, running it inline or as a task, and publishing its progress."""

import json
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from banso.core.models import User

from . import lake
from .importing import ImportRefused, ImportResult, import_bytes, row_error, spec_for
from .models import ImportEntity, ImportJob, ImportStatus

logger = logging.getLogger(__name__)

PROGRESS_SUFFIX = ".progress"


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_job(
    entity: str,
    source: str,
    upload: UploadedFile,
    *,
    user: User | None,
) -> ImportJob:
    """Keep the uploaded file where the worker can read it and record a queued job for it."""
    spec_for(entity)
    name = get_valid_filename(Path(upload.name or "upload.csv").name) or "upload.csv"
    path = upload_dir() / f"{uuid.uuid4().hex}-{name}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return ImportJob.objects.create(
        entity=entity,
        source=source,
        filename=upload.name or name,
        stored_path=str(path),
        created_by=user if user is not None and user.is_authenticated else None,
    )


def start_job(job: ImportJob) -> bool:
    """Run a small file now; queue a large one for the worker. Returns True when it was queued."""
    size = os.path.getsize(job.stored_path)
    if size > settings.BANSO_IMPORT_INLINE_MAX_BYTES:
        from .tasks import run_import  # the task module imports this one

        transaction.on_commit(lambda: run_import.enqueue(job.pk))
        return True
    run_job(job)
    return False


class _ProgressPublisher:
    """Progress a page can poll while the import's transaction is still open.

    Rows are written in one transaction (all or nothing), so `processed_rows` saved inside it would stay
    invisible until the end, and SQLite would not let a second connection write it meanwhile. The count
    therefore goes to a small file in the uploads folder (shared with the web processes, like the uploads
    themselves) and, whenever no transaction is open, to the job row.
    """

    def __init__(self, job: ImportJob, echo: Callable[[int, int], None] | None) -> None:
        self.job = job
        self.echo = echo
        self.path: Path | None = progress_path(job)

    def __call__(self, processed: int, total: int) -> None:
        self.job.processed_rows = processed
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"processed": processed, "total": total}))
            tmp.replace(self.path)
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job.pk).update(processed_rows=processed)
        if self.echo:
            self.echo(processed, total)

    def close(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def progress_path(job: ImportJob) -> Path:
    return upload_dir() / f"job-{job.pk}{PROGRESS_SUFFIX}"


def live_processed_rows(job: ImportJob) -> int:
    """Rows processed so far, including progress not yet committed to the job row."""
    if job.status == ImportStatus.RUNNING:
        try:
            data = json.loads(progress_path(job).read_text())
            return max(job.processed_rows, int(data["processed"]))
        except (OSError, ValueError, KeyError):
            pass
    return job.processed_rows


def live_percent(job: ImportJob) -> int:
    if job.status != ImportStatus.RUNNING or not job.total_rows:
        return job.percent
    return min(100, live_processed_rows(job) * 100 // job.total_rows)


def run_job(job: ImportJob, *, echo: Callable[[int, int], None] | None = None) -> ImportJob:
    """Import the job's stored file and record the outcome on the job (never raises for bad input)."""
    actor = job.created_by
    job.status = ImportStatus.RUNNING
    job.started_at = timezone.now()
    job.processed_rows = 0
    job.errors = []
    job.save(update_fields=["status", "started_at", "processed_rows", "errors"])
    publish = _ProgressPublisher(job, echo)

    def counted(rows: int) -> None:
        job.total_rows = rows
        ImportJob.objects.filter(pk=job.pk).update(total_rows=rows)

    try:
        result = import_bytes(
            job.entity,
            job.source,
            # No name holds the bytes here, so the engine can free them once the file is parsed.
            Path(job.stored_path).read_bytes(),
            job.filename or job.stored_path,
            actor=actor,
            progress=publish,
            on_read=counted,
        )
    except ImportRefused as refused:
        _finish_refused(job, refused)
    except OSError:
        _finish_refused(job, ImportRefused([row_error(None, "", _("The uploaded file could not be read."))]))
    except Exception:
        _finish_refused(
            job,
            ImportRefused([row_error(None, "", _("The import stopped on an unexpected error; nothing was written."))]),
        )
        raise
    else:
        _finish(job, result)
    finally:
        publish.close()
    return job


def _finish(job: ImportJob, result: ImportResult) -> None:
    if job.entity == ImportEntity.EVENTS and result.created:
        # New events reach the analytics copy at once, so segment previews and counts include them.
        transaction.on_commit(_copy_new_events)
    job.status = ImportStatus.SUCCEEDED
    job.total_rows = result.total_rows
    job.processed_rows = result.total_rows
    job.created_count = result.created
    job.updated_count = result.updated
    job.unchanged_count = result.unchanged
    job.errors = []
    job.finished_at = timezone.now()
    job.save()


def _copy_new_events() -> None:
    try:
        lake.sync()
    except Exception:  # the copy catches up at the next sync or recompute; the import itself succeeded
        logger.exception("copying new events to the analytics copy failed")


def _finish_refused(job: ImportJob, refused: ImportRefused) -> None:
    job.status = ImportStatus.FAILED
    if refused.total_rows:
        job.total_rows = refused.total_rows
    job.processed_rows = 0
    job.created_count = job.updated_count = job.unchanged_count = 0
    errors: list[dict[str, Any]] = list(refused.errors)
    if refused.error_count > len(errors):
        errors.append(
            row_error(
                None,
                "",
                _("… and %(n)s more errors.") % {"n": refused.error_count - len(errors)},
            )
        )
    job.errors = errors
    job.finished_at = timezone.now()
    job.save()


def import_path(
    entity: str,
    path: Path,
    source: str,
    *,
    user: User | None = None,
    echo: Callable[[int, int], None] | None = None,
) -> ImportJob:
    """Import a file from disk (the command line, benchmarks): the same job and engine as an upload."""
    spec_for(entity)
    job = ImportJob.objects.create(
        entity=entity, source=source, filename=path.name, stored_path=str(path.resolve()), created_by=user
    )
    return run_job(job, echo=echo)


def record_api_batch(
    entity: str, source: str, user: User | None, result: ImportResult | None, refused: ImportRefused | None
) -> ImportJob:
    """Keep an API batch in the import history like a file."""
    job = ImportJob(entity=entity, source=source, filename="", created_by=user, started_at=timezone.now())
    if refused is not None:
        _finish_refused(job, refused)
    else:
        assert result is not None
        _finish(job, result)
    return job
