"""Import pages: upload a file, follow its progress, read and download its per-row errors."""

import csv
import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from banso.core.models import User
from banso.core.permissions import Capability, requires

from .forms import ImportUploadForm
from .models import ImportJob, ImportStatus
from .services import create_job, live_percent, live_processed_rows, start_job


@requires(Capability.IMPORT_DATA)
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        user = request.user if isinstance(request.user, User) else None
        job = create_job(form.cleaned_data["entity"], form.cleaned_data["source"], form.cleaned_data["file"], user=user)
        if start_job(job):
            messages.info(request, _("The file is large; it is being imported in the background."))
        return redirect("activity:job", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:50]
    return render(request, "activity/imports.html", {"form": form, "jobs": jobs})


def _job_context(job: ImportJob) -> dict[str, object]:
    running = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    return {
        "job": job,
        "running": running,
        "processed": live_processed_rows(job),
        "percent": live_percent(job),
    }


@requires(Capability.IMPORT_DATA)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    return render(request, "activity/job.html", _job_context(job))


@requires(Capability.IMPORT_DATA)
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx while the job runs; when done, the whole page reloads."""
    job = get_object_or_404(ImportJob, pk=pk)
    context = _job_context(job)
    response = render(request, "activity/_progress.html", context)
    if not context["running"] and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@requires(Capability.IMPORT_DATA)
def job_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The error report as CSV in UTF-8 with a BOM, so that Excel opens the Japanese text correctly."""
    job = get_object_or_404(ImportJob, pk=pk)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Row"), _("Column"), _("Reason")])
    for error in job.errors:
        writer.writerow([error.get("row") or "", error.get("column") or "", error.get("reason") or ""])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
