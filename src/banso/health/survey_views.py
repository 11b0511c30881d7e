"""Survey pages: the list, a survey's settings, waves and answers, the aggregation page, and the public page
where a contact answers through the signed link in their mail (no login). Every page goes through `surveys`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core import charts
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import surveys
from .models import InvitationStatus, Survey, SurveyKind, SurveyWave, WaveStatus
from .survey_forms import AnswerForm, SurveyForm, TestSendForm

INVITATIONS_PER_PAGE = 100
# The public page: attempts (answers and bad links) per client address in RATE_WINDOW seconds.
RATE_LIMIT = 30
RATE_WINDOW = 600


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _can_manage(request: HttpRequest) -> bool:
    return has_capability(request.user, Capability.MANAGE_HEALTH)


@requires(Capability.VIEW_ACCOUNTS)
def survey_list(request: HttpRequest) -> HttpResponse:
    found = Survey.objects.annotate(
        wave_count=Count("waves", distinct=True), answer_count=Count("responses", distinct=True)
    )
    return render(
        request,
        "health/surveys/list.html",
        {"surveys": found.order_by("-created_at"), "can_manage": _can_manage(request)},
    )


@requires(Capability.MANAGE_HEALTH)
def survey_create(request: HttpRequest) -> HttpResponse:
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = surveys.save_survey(None, form.data_for_service(), _actor(request))
        except surveys.SurveyError as error:
            form.show_error(error)
        else:
            messages.success(request, _("Survey created."))
            return redirect("health:survey", pk=survey.pk)
    return render(request, "health/surveys/form.html", {"form": form, "survey": None})


@requires(Capability.MANAGE_HEALTH)
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    form = SurveyForm(request.POST) if request.method == "POST" else SurveyForm.for_survey(survey)
    if request.method == "POST" and form.is_valid():
        try:
            surveys.save_survey(survey, form.data_for_service(), _actor(request))
        except surveys.SurveyError as error:
            form.show_error(error)
        else:
            messages.success(request, _("Survey saved."))
            return redirect("health:survey", pk=survey.pk)
    return render(request, "health/surveys/form.html", {"form": form, "survey": survey})


@requires(Capability.VIEW_ACCOUNTS)
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey.objects.select_related("segment"), pk=pk)
    context = {
        "survey": survey,
        "question": surveys.question_text(survey),
        "summary": surveys.survey_summary(survey),
        "waves": surveys.wave_rates(survey),
        "comments": surveys.comments(survey),
        "can_manage": _can_manage(request),
        "test_form": TestSendForm(initial={"email": getattr(request.user, "email", "")}),
        "is_nps": survey.kind == SurveyKind.NPS,
    }
    return render(request, "health/surveys/detail.html", context)


@requires(Capability.MANAGE_HEALTH)
@require_POST
def survey_send(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    wave = surveys.start_wave(survey, _actor(request))
    messages.success(request, _("Sending to %(count)d contacts in the background.") % {"count": wave.total})
    return redirect("health:survey_wave", pk=wave.pk)


@requires(Capability.MANAGE_HEALTH)
@require_POST
def survey_test(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    form = TestSendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid email address for the test."))
        return redirect("health:survey", pk=survey.pk)
    try:
        surveys.send_test(survey, form.cleaned_data["email"])
    except OSError as exc:
        messages.error(request, _("The test mail could not be sent: %(error)s") % {"error": exc})
    else:
        messages.success(request, _("Test mail sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    return redirect("health:survey", pk=survey.pk)


def _wave_context(wave: SurveyWave) -> dict[str, Any]:
    stalled = surveys.is_stalled(wave)
    return {
        "wave": wave,
        "counts": surveys.wave_counts(wave),
        "running": wave.status in (WaveStatus.QUEUED, WaveStatus.SENDING) and not stalled,
        "stalled": stalled,
    }


@requires(Capability.VIEW_ACCOUNTS)
def wave_detail(request: HttpRequest, pk: int) -> HttpResponse:
    wave = get_object_or_404(SurveyWave.objects.select_related("survey"), pk=pk)
    invitations = wave.invitations.select_related("account", "contact", "response").order_by("id")
    status = request.GET.get("status", "")
    if status in InvitationStatus.values:
        invitations = invitations.filter(status=status)
    page = Paginator(invitations, INVITATIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        **_wave_context(wave),
        "page": page,
        "status": status,
        "statuses": InvitationStatus.choices,
        "can_manage": _can_manage(request),
    }
    return render(request, "health/surveys/wave.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def wave_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The wave's progress alone, polled by htmx while it is queued or sending."""
    wave = get_object_or_404(SurveyWave, pk=pk)
    return render(request, "health/surveys/_wave_progress.html", _wave_context(wave))


@requires(Capability.MANAGE_HEALTH)
@require_POST
def wave_resume(request: HttpRequest, pk: int) -> HttpResponse:
    wave = get_object_or_404(SurveyWave, pk=pk)
    if surveys.resume_wave(wave):
        messages.success(request, _("The rest of the wave is being sent; those already sent are skipped."))
    else:
        messages.info(
            request, _("Nothing to resume: the wave is still being sent, or every invitation is sent or failed.")
        )
    return redirect("health:survey_wave", pk=wave.pk)


@requires(Capability.VIEW_ACCOUNTS)
def results(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", SurveyKind.NPS)
    if kind not in SurveyKind.values:
        kind = SurveyKind.NPS
    found = surveys.aggregate(kind)
    months = [row["month"] for row in found["by_month"]]
    if kind == SurveyKind.NPS:
        values = [round(r["nps"], 1) if r["responses"] else None for r in found["by_month"]]
        config = charts.line_chart(months, [charts.series("NPS", values)], y_title="NPS")
        config["options"]["scales"]["y"].update(min=-100, max=100)
    else:
        values = [round(r["average"], 2) if r["responses"] else None for r in found["by_month"]]
        config = charts.line_chart(months, [charts.series(_("CSAT average"), values)], y_title="CSAT", y_max=5)
    context = {**found, "chart": config, "is_nps": kind == SurveyKind.NPS, "kinds": SurveyKind.choices}
    return render(request, "health/surveys/results.html", context)


# The public page (no login: /survey/ is listed in core.middleware.PUBLIC_PREFIXES) -----------------------


def _client_key(request: HttpRequest) -> str:
    return "survey-rate:" + str(request.META.get("REMOTE_ADDR", ""))


def _too_many(request: HttpRequest) -> bool:
    key = _client_key(request)
    cache.add(key, 0, RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:
        return False
    return count > RATE_LIMIT


def _refusal(request: HttpRequest, state: str, status: int) -> HttpResponse:
    return render(request, "health/surveys/public_refused.html", {"state": state}, status=status)


def answer(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the question with 0–10 (or 1–5) buttons; POST: store the one answer, then the thank-you page."""
    if request.method == "POST" and _too_many(request):
        return _refusal(request, "too_many", 429)
    found = surveys.check_token(token)
    if found.state == "invalid":
        if request.method != "POST" and _too_many(request):
            return _refusal(request, "too_many", 429)
        return _refusal(request, "invalid", 404)
    if found.state in ("expired", "answered"):
        return _refusal(request, found.state, 410 if found.state == "expired" else 409)
    survey = found.survey
    assert survey is not None
    form = AnswerForm(request.POST or None)
    error = ""
    if request.method == "POST":
        score, comment = request.POST.get("score"), request.POST.get("comment", "")
        try:
            if found.state == "test":
                surveys.validate_answer(survey, score, comment)
            else:
                assert found.invitation is not None
                surveys.record_answer(found.invitation, score, comment)
        except surveys.SurveyError as exc:
            error = exc.message
        except surveys.AlreadyAnswered:
            return _refusal(request, "answered", 409)
        else:
            return render(request, "health/surveys/public_thanks.html", {"company": surveys.company_name()})
    context = {
        "survey": survey,
        "question": surveys.question_text(survey),
        "company": surveys.company_name(),
        "scores": list(range(survey.min_score, survey.max_score + 1)),
        "is_nps": survey.kind == SurveyKind.NPS,
        "form": form,
        "error": error,
        "chosen": request.POST.get("score", ""),
        "is_test": found.state == "test",
        "expires": timezone.localtime(found.invitation.expires_at) if found.invitation else None,
        "language": settings.LANGUAGE_CODE,
    }
    return render(request, "health/surveys/public_answer.html", context, status=422 if error else 200)
