"""The import pages: upload, inline or background run with progress, per-row errors and their CSV."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from banso.accounts.models import Account
from banso.activity import services
from banso.activity.models import ImportJob, ImportStatus
from banso.core.choices import Role

from .factories import AccountFactory
from .helpers import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def upload(client, data: bytes, name: str = "accounts.csv", entity: str = "accounts"):
    file = SimpleUploadedFile(name, data)
    return client.post(reverse("activity:imports"), {"entity": entity, "source": "crm", "file": file})


def test_import_page_lists_jobs_and_shows_the_form(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.get(reverse("activity:imports"))
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content


@pytest.mark.parametrize("role", [Role.CSM, Role.VIEWER, Role.SUPPORT_AGENT, Role.MERCHANT_USER])
def test_import_pages_are_refused_without_the_import_right(client_as, role):
    job = ImportJob.objects.create(entity="accounts", source="crm")
    client = client_as(role)
    for name, args in [("imports", []), ("job", [job.pk]), ("job_progress", [job.pk]), ("job_errors", [job.pk])]:
        assert client.get(reverse(f"activity:{name}", args=args)).status_code == 403


def test_small_upload_runs_inline_and_shows_counts(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = upload(client, csv_bytes("external_id,name", "A1,伴走", encoding="cp932"))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("activity:job", args=[job.pk])
    assert job.status == ImportStatus.SUCCEEDED and job.created_count == 1
    page = client.get(response.url)
    assert page.status_code == 200 and b"100%" in page.content
    assert Account.objects.get().name == "伴走"


def test_xlsx_upload_is_imported(client_as):
    client = client_as(Role.ADMIN)
    upload(client, xlsx_bytes([["external_id", "name"], ["A1", "伴走"]]), name="a.xlsx")
    assert Account.objects.get().external_id == "A1"


def test_refused_upload_shows_the_error_table_and_writes_nothing(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = upload(client, csv_bytes("external_id,name", "A1,伴走", "A1,重複"))
    page = client.get(response.url)
    assert b"<td>3</td><td>external_id</td>" in page.content and b'class="card error"' in page.content
    assert "インポート".encode() in page.content  # Japanese is the default language
    assert not Account.objects.exists()


def test_error_report_downloads_as_csv_with_bom(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = upload(client, csv_bytes("external_id,name,colour", "A1,伴走,red"))
    job = ImportJob.objects.get()
    report = client.get(reverse("activity:job_errors", args=[job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    body = report.content
    assert body.startswith(b"\xef\xbb\xbf")
    assert "colour" in body.decode("utf-8-sig").splitlines()[1]
    assert response.status_code == 302


@override_settings(BANSO_IMPORT_INLINE_MAX_BYTES=10, TASKS=IMMEDIATE)
def test_large_upload_runs_as_a_background_task(client_as, django_capture_on_commit_callbacks):
    AccountFactory(external_id="A1")
    client = client_as(Role.OPS_MANAGER)
    data = csv_bytes("external_id,account,kind,occurred_at", *(f"E{i},A1,login,2024-04-01 09:00:00" for i in range(30)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, data, name="events.csv", entity="events")
    # Queued once the job row is committed; once the worker's import commits, its events are copied for analytics.
    assert [callback.__name__ for callback in callbacks][1:] == ["_copy_new_events"]
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.SUCCEEDED
    assert (job.total_rows, job.processed_rows, job.created_count) == (30, 30, 30)
    progress = client.get(reverse("activity:job_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"  # finished: the page reloads to show the outcome
    assert response.status_code == 302


@override_settings(BANSO_IMPORT_INLINE_MAX_BYTES=10)
def test_queued_job_page_polls_progress_while_running(client_as, django_capture_on_commit_callbacks):
    client = client_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(client, csv_bytes("external_id,name", "A1,伴走"))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.QUEUED
    page = client.get(response.url)
    assert reverse("activity:job_progress", args=[job.pk]).encode() in page.content
    assert b'hx-trigger="every 1s"' in page.content


def test_running_job_shows_progress_published_from_inside_the_transaction(client_as):
    job = ImportJob.objects.create(entity="events", source="crm", status=ImportStatus.RUNNING, total_rows=200)
    services.progress_path(job).write_text('{"processed": 50, "total": 200}')
    response = client_as(Role.OPS_MANAGER).get(reverse("activity:job_progress", args=[job.pk]))
    assert b'value="25"' in response.content
    assert services.live_percent(job) == 25


def test_background_task_updates_processed_rows_in_chunks(monkeypatch):
    from banso.activity import tasks
    from banso.activity.importing import writing

    AccountFactory(external_id="A1")
    monkeypatch.setattr(writing, "WRITE_CHUNK", 10)
    seen: list[int] = []
    real = services._ProgressPublisher.__call__

    def spy(self, processed, total):
        real(self, processed, total)
        seen.append(int(services.progress_path(self.job).read_text().split(":")[1].split(",")[0]))

    monkeypatch.setattr(services._ProgressPublisher, "__call__", spy)
    path = services.upload_dir() / "events.csv"
    path.write_bytes(
        csv_bytes("external_id,account,kind,occurred_at", *(f"E{i},A1,login,2024-04-01" for i in range(25)))
    )
    job = ImportJob.objects.create(entity="events", source="crm", filename="events.csv", stored_path=str(path))
    with override_settings(TASKS=IMMEDIATE):
        tasks.run_import.enqueue(job.pk)
    job.refresh_from_db()
    assert seen == [10, 20, 25]
    assert (job.status, job.processed_rows, job.percent) == (ImportStatus.SUCCEEDED, 25, 100)
    assert not services.progress_path(job).exists()


@override_settings(BANSO_IMPORT_INLINE_MAX_BYTES=10)
def test_a_task_delivered_twice_imports_once(client_as, django_capture_on_commit_callbacks):
    from banso.activity.tasks import run_import

    client = client_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        upload(client, csv_bytes("external_id,name", "A1,伴走", "A2,並走"))
    job = ImportJob.objects.get()
    assert run_import.call(job.pk) == ImportStatus.SUCCEEDED
    assert run_import.call(job.pk) == ImportStatus.SUCCEEDED  # the second delivery finds it taken
    job.refresh_from_db()
    assert job.created_count == 2 and job.unchanged_count == 0
