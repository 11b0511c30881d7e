"""Survey pages, the API, the command line and the scheduler: designing, sending and reading surveys."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings

from banso.core.choices import Role
from banso.core.models import ApiToken
from banso.core.schedule import scheduled_jobs
from banso.health import surveys
from banso.health.models import Survey, SurveyResponse, SurveyWave, WaveStatus
from tests.accounts.factories import AccountFactory, ContactFactory

from .survey_factories import SurveyFactory, add_scores, at, smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _customers(n: int = 2):
    accounts = AccountFactory.create_batch(n)
    for account in accounts:
        ContactFactory(account=account, is_primary=True)
    return accounts


def test_ops_manager_creates_a_survey_with_the_standard_question_and_sees_it_listed(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        "/health/surveys/new/",
        {
            "name": "四半期NPS",
            "kind": "nps",
            "question": "",
            "comment_question": "理由をお聞かせください。",
            "audience": "all",
            "recipients": "primary",
            "repeat_months": "3",
            "link_valid_days": "14",
            "is_active": "on",
        },
    )
    survey = Survey.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/health/surveys/{survey.pk}/"
    assert survey.question == "{会社名}を同僚や知人に薦める可能性はどのくらいありますか？"
    assert survey.repeat_months == 3 and survey.next_due_on is not None
    listing = client.get("/health/surveys/").content.decode()
    assert "四半期NPS" in listing and "3 か月ごと" in listing
    detail = client.get(f"/health/surveys/{survey.pk}/").content.decode()
    assert "当社を同僚や知人に薦める可能性はどのくらいありますか？" in detail


def test_a_tier_audience_without_a_tier_is_refused_on_the_page_and_in_the_api(client_as, user_with_role, client):
    page = client_as(Role.OPS_MANAGER).post(
        "/health/surveys/new/",
        {"name": "高タッチ", "kind": "nps", "audience": "tier", "recipients": "primary", "link_valid_days": "30"},
    )
    assert page.status_code == 200 and "タッチ区分を選んでください。" in page.content.decode()
    _, raw = ApiToken.issue(user_with_role(Role.OPS_MANAGER), "t")
    api = client.post(
        "/api/health/surveys",
        {"name": "高タッチ", "audience": "tier"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert api.status_code == 422
    assert api.json()["detail"][0]["field"] == "tier"
    assert not Survey.objects.exists()


def test_a_segment_audience_reaches_only_current_members(client_as):
    from django.utils import timezone

    from banso.analytics.models import SegmentMembership
    from tests.analytics.factories import SegmentFactory

    inside, outside = _customers(2)
    segment = SegmentFactory()
    SegmentMembership.objects.create(segment=segment, subject_id=inside.pk, entered_at=timezone.now())
    SegmentMembership.objects.create(
        segment=segment, subject_id=outside.pk, entered_at=timezone.now(), left_at=timezone.now()
    )
    data = surveys.SurveyData(name="セグメント", audience="segment", segment_id=segment.pk)
    survey = surveys.save_survey(None, data, None)
    wave = surveys.start_wave(survey, enqueue=False)
    assert list(wave.invitations.values_list("account_id", flat=True)) == [inside.pk]


@override_settings(TASKS=IMMEDIATE)
def test_send_now_runs_in_the_background_and_the_wave_page_shows_each_recipient(
    smtp,  # noqa: F811
    client_as,
    django_capture_on_commit_callbacks,
):
    _customers(3)
    survey = SurveyFactory()
    client = client_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/health/surveys/{survey.pk}/send/")
    wave = SurveyWave.objects.get()
    assert response["Location"] == f"/health/surveys/waves/{wave.pk}/"
    assert wave.status == WaveStatus.DONE and wave.sent == 3 and len(smtp.messages) == 3
    page = client_as(Role.VIEWER).get(f"/health/surveys/waves/{wave.pk}/").content.decode()
    assert "3 件中 3 件送信" in page
    assert page.count("送信済み") >= 3
    progress = client_as(Role.CSM).get(f"/health/surveys/waves/{wave.pk}/progress/")
    assert progress.status_code == 200 and "hx-get" not in progress.content.decode()  # finished: no polling


def test_a_csm_cannot_send_a_survey(client_as):
    survey = SurveyFactory()
    assert client_as(Role.CSM).post(f"/health/surveys/{survey.pk}/send/").status_code == 403
    assert not SurveyWave.objects.exists()


def test_survey_page_shows_response_rate_nps_and_comments(client_as, settings):
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    _customers(4)
    survey = SurveyFactory()
    wave = surveys.start_wave(survey, enqueue=False)
    wave.invitations.update(status="sent")
    SurveyWave.objects.filter(pk=wave.pk).update(sent=4, status=WaveStatus.DONE)
    invitations = list(wave.invitations.select_related("wave__survey"))
    surveys.record_answer(invitations[0], 10, "とても使いやすい")
    surveys.record_answer(invitations[1], 4)
    page = client_as(Role.VIEWER).get(f"/health/surveys/{survey.pk}/").content.decode()
    assert "50.0%" in page  # 2 of 4 answered
    assert "NPS 0.0" in page  # one promoter, one detractor
    assert "とても使いやすい" in page


def test_results_page_charts_nps_by_month(client_as):
    account = AccountFactory(tier="high")
    add_scores((account, "survey_nps", at(dt.date.today()), 10))
    response = client_as(Role.SUPPORT_AGENT).get("/health/surveys/results/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-chart="survey-chart"' in body and "月別" in body and "ハイタッチ" in body
    assert response.context["chart"]["data"]["datasets"][0]["data"][-1] == 100
    csat = client_as(Role.VIEWER).get("/health/surveys/results/?kind=csat")
    assert csat.status_code == 200 and "CSAT" in csat.content.decode()


def test_account_360_shows_the_accounts_recent_answers(client_as, settings):
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    (account,) = _customers(1)
    survey = SurveyFactory(name="年次NPS")
    invitation = surveys.start_wave(survey, enqueue=False).invitations.select_related("wave__survey").get()
    surveys.record_answer(invitation, 7, "もう少し安ければ")
    page = client_as(Role.CSM).get(f"/accounts/{account.pk}/").content.decode()
    assert "アンケート回答" in page and "年次NPS" in page and "もう少し安ければ" in page


def test_api_creates_sends_and_reads_a_survey(client, user_with_role, smtp, django_capture_on_commit_callbacks):  # noqa: F811
    _customers(2)
    _, raw = ApiToken.issue(user_with_role(Role.ADMIN), "t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    created = client.post(
        "/api/health/surveys", {"name": "CSAT", "kind": "csat"}, content_type="application/json", **auth
    )
    assert created.status_code == 201
    survey_id = created.json()["id"]
    assert created.json()["question"] == "{会社名}のサービスにどのくらい満足していますか？"
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/api/health/surveys/{survey_id}/send", **auth)
    assert sent.status_code == 202
    wave = client.get(f"/api/health/surveys/waves/{sent.json()['id']}", **auth).json()
    assert (wave["status"], wave["sent"], wave["percent"]) == ("done", 2, 100)
    invitations = client.get(f"/api/health/surveys/waves/{wave['id']}/invitations", **auth).json()
    assert invitations["count"] == 2 and {i["status"] for i in invitations["results"]} == {"sent"}

    invitation = SurveyWave.objects.get().invitations.select_related("wave__survey").first()
    surveys.record_answer(invitation, 5, "満足")
    answers = client.get(f"/api/health/surveys/{survey_id}/responses", **auth).json()
    assert answers["count"] == 1 and answers["results"][0]["comment"] == "満足"
    summary = client.get(f"/api/health/surveys/{survey_id}/summary", **auth).json()
    assert summary["average"] == 5 and summary["satisfied_pct"] == 100
    rates = client.get(f"/api/health/surveys/{survey_id}/waves", **auth).json()
    assert rates[0]["response_rate"] == 50.0
    results = client.get("/api/health/surveys/results?kind=csat", **auth).json()
    assert results["overall"]["responses"] == 1


def test_command_line_sends_a_wave_and_lists_surveys(smtp, capsys):  # noqa: F811
    _customers(2)
    survey = SurveyFactory(name="CLIテスト")
    call_command("health", "surveys", "list")
    assert f"{survey.pk}\tnps\tone-off\tCLIテスト" in capsys.readouterr().out
    call_command("health", "surveys", "send", str(survey.pk))
    out = capsys.readouterr().out
    assert "2 sent, 0 failed of 2" in out and len(smtp.messages) == 2
    wave = SurveyWave.objects.get()
    call_command("health", "surveys", "resume", str(wave.pk))
    assert len(smtp.messages) == 2  # nothing left to send


def test_scheduler_starts_a_recurring_wave_once_and_moves_the_next_send(django_capture_on_commit_callbacks):
    _customers(1)
    survey = SurveyFactory(repeat_months=3, next_due_on=dt.date(2026, 11, 30))
    job = next(j for j in scheduled_jobs() if j.name == "health.survey_waves")
    before = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    assert job.due(before) is None

    on_the_day = dt.datetime(2026, 11, 30, 1, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks() as queued:
        line = job.due(on_the_day)
    assert line and survey.name in line and len(queued) == 1
    survey.refresh_from_db()
    assert survey.next_due_on == dt.date(2027, 2, 28)  # three months on, clamped to the month's end
    assert job.due(on_the_day) is None  # asked again (another scheduler): nothing new
    wave = SurveyWave.objects.get()
    assert (wave.due_on, wave.scheduled, wave.total) == (dt.date(2026, 11, 30), True, 1)

    # A second scheduler that read the survey before the first moved it: the constraint refuses the duplicate.
    Survey.objects.filter(pk=survey.pk).update(next_due_on=dt.date(2026, 11, 30))
    assert job.due(on_the_day) is None
    assert SurveyWave.objects.count() == 1


def test_one_answer_per_invitation_is_enforced_by_the_database(settings):
    from django.db import IntegrityError, transaction

    _customers(1)
    invitation = surveys.start_wave(SurveyFactory(), enqueue=False).invitations.select_related("wave__survey").get()
    first = surveys.record_answer(invitation, 9)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponse.objects.create(
            invitation=invitation, survey=first.survey, account=first.account, contact=first.contact, score=1
        )
    with pytest.raises(surveys.AlreadyAnswered):
        surveys.record_answer(invitation, 1)
    assert SurveyResponse.objects.count() == 1


def test_survey_list_counts_waves_and_answers_once_each(client_as):
    _customers(2)
    survey = SurveyFactory(name="一覧テスト")
    for _ in range(2):
        surveys.start_wave(survey, enqueue=False)
    first = survey.waves.order_by("id").first().invitations.select_related("wave__survey")
    for invitation in first:
        surveys.record_answer(invitation, 8)
    page = client_as(Role.VIEWER).get("/health/surveys/")
    (row,) = page.context["surveys"]
    assert (row.wave_count, row.answer_count) == (2, 2)


def test_a_stalled_wave_offers_to_send_the_rest(client_as, smtp, django_capture_on_commit_callbacks):  # noqa: F811
    from django.utils import timezone

    _customers(2)
    wave = surveys.start_wave(SurveyFactory(), enqueue=False)
    client = client_as(Role.OPS_MANAGER)
    SurveyWave.objects.filter(pk=wave.pk).update(status=WaveStatus.SENDING, started_at=timezone.now())
    fresh = client.get(f"/health/surveys/waves/{wave.pk}/").content.decode()
    assert "hx-get" in fresh and "残りを送信" not in fresh  # still sending: polled, no second sender offered

    SurveyWave.objects.filter(pk=wave.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))
    stalled = client.get(f"/health/surveys/waves/{wave.pk}/").content.decode()
    assert "残りを送信" in stalled and "送信が止まった" in stalled
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        client.post(f"/health/surveys/waves/{wave.pk}/resume/")
    wave.refresh_from_db()
    assert wave.status == WaveStatus.DONE and len(smtp.messages) == 2


def test_the_public_page_slows_down_a_client_guessing_links(client):
    codes = [client.get(f"/survey/guess-{i}/").status_code for i in range(35)]
    assert codes[:30] == [404] * 30
    assert codes[30:] == [429] * 5
    assert "アクセスが多すぎます" in client.get("/survey/guess-x/").content.decode()


def test_test_send_from_the_page_and_the_api_reaches_the_address_given(client_as, client, user_with_role, smtp):  # noqa: F811
    survey = SurveyFactory()
    page = client_as(Role.OPS_MANAGER).post(f"/health/surveys/{survey.pk}/test/", {"email": "me@banso.example.jp"})
    assert page.status_code == 302
    _, raw = ApiToken.issue(user_with_role(Role.OPS_MANAGER), "t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    api = client.post(
        f"/api/health/surveys/{survey.pk}/test",
        {"email": "api@banso.example.jp"},
        content_type="application/json",
        **auth,
    )
    assert api.status_code == 204
    refused = client.post(
        f"/api/health/surveys/{survey.pk}/test", {"email": "not-an-address"}, content_type="application/json", **auth
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "email"
    assert sorted(m["To"] for m in smtp.messages) == ["api@banso.example.jp", "me@banso.example.jp"]
    assert not SurveyWave.objects.exists()


def test_api_deletes_a_survey_never_sent_but_keeps_one_with_answers(client, user_with_role):
    from banso.core.models import AuditEntry

    _customers(1)
    draft, sent = SurveyFactory(), SurveyFactory()
    surveys.start_wave(sent, enqueue=False)
    _, raw = ApiToken.issue(user_with_role(Role.OPS_MANAGER), "t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.delete(f"/api/health/surveys/{draft.pk}", **auth).status_code == 204
    refused = client.delete(f"/api/health/surveys/{sent.pk}", **auth)
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "survey"
    assert list(Survey.objects.values_list("pk", flat=True)) == [sent.pk]
    assert AuditEntry.objects.filter(object_type="health.survey", action="delete", via="api").count() == 1
