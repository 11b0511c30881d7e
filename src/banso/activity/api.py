"""Imports in the JSON API: record batches (all or nothing), file uploads as jobs, and job status."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from banso.api.auth import role
from banso.core.models import User
from banso.core.permissions import Capability

from .importing import ImportRefused, import_records
from .models import ImportJob, import_entity_choices
from .services import create_job, live_percent, live_processed_rows, record_api_batch, start_job

router = Router(tags=["imports"])
IMPORT = role(Capability.IMPORT_DATA)


class RowErrorOut(Schema):
    row: int | None
    column: str
    reason: str


class ImportJobOut(Schema):
    id: int
    entity: str
    source: str
    filename: str
    status: str
    total_rows: int
    processed_rows: int
    percent: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]
    created_at: datetime
    finished_at: datetime | None


class BatchIn(Schema):
    source: str
    records: list[dict[str, Any]]


class BatchOut(Schema):
    job: int
    total_rows: int
    created: int
    updated: int
    unchanged: int


class BatchRefusedOut(Schema):
    job: int
    error_count: int
    errors: list[RowErrorOut]


def _job_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "entity": job.entity,
        "source": job.source,
        "filename": job.filename,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": live_processed_rows(job),
        "percent": live_percent(job),
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "errors": job.errors,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _entity(entity: str) -> str:
    known = [value for value, _label in import_entity_choices()]
    if entity not in known:
        raise HttpError(404, f"unknown entity {entity!r}; one of: {', '.join(known)}")
    return entity


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@router.get("/", response=list[ImportJobOut], auth=IMPORT)
def list_imports(request: HttpRequest) -> list[dict[str, Any]]:
    return [_job_out(job) for job in ImportJob.objects.all()[:100]]


@router.get("/{int:job_id}", response=ImportJobOut, auth=IMPORT)
def get_import(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return _job_out(get_object_or_404(ImportJob, pk=job_id))


@router.post("/{entity}", response={200: BatchOut, 422: BatchRefusedOut}, auth=IMPORT)
def import_batch(request: HttpRequest, entity: str, batch: BatchIn) -> Status[dict[str, Any]]:
    """Import a list of records in one go: all of them, or none and the errors (row = position in records)."""
    entity = _entity(entity)
    try:
        result = import_records(entity, batch.source, batch.records, actor=_user(request))
    except ImportRefused as refused:
        job = record_api_batch(entity, batch.source, _user(request), None, refused)
        return Status(422, {"job": job.pk, "error_count": refused.error_count, "errors": job.errors})
    job = record_api_batch(entity, batch.source, _user(request), result, None)
    counts = {"total_rows": result.total_rows, "created": result.created, "updated": result.updated}
    return Status(200, {"job": job.pk, "unchanged": result.unchanged, **counts})


@router.post("/{entity}/file", response=ImportJobOut, auth=IMPORT)
def import_file(request: HttpRequest, entity: str, source: Form[str], file: File[UploadedFile]) -> dict[str, Any]:
    """Upload a CSV/XLSX file: small files are imported at once, large ones queued; poll the job."""
    entity = _entity(entity)
    job = create_job(entity, source, file, user=_user(request))
    start_job(job)
    job.refresh_from_db()
    return _job_out(job)
