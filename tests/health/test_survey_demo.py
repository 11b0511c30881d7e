"""The demo's surveys: a past NPS and CSAT wave whose answers follow each account's NPS history."""

import datetime as dt

import pytest

from banso.activity.models import Event
from banso.core.demo import DemoContext, Progress
from banso.health import surveys_demo
from banso.health.models import Survey, SurveyResponse, WaveStatus
from tests.accounts.factories import AccountFactory, ContactFactory

from .survey_factories import add_scores, at

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)


def test_demo_surveys_are_built_once_and_reset_cleanly():
    accounts = [AccountFactory(source="demo", tier="high" if i < 10 else "low") for i in range(40)]
    for account in accounts:
        ContactFactory(account=account, is_primary=True, source="demo")
    add_scores(
        *[(a, "survey_nps", at(TODAY - dt.timedelta(days=60)), 2 if i % 2 else 10) for i, a in enumerate(accounts)]
    )
    ctx = DemoContext(today=TODAY, progress=Progress(quiet=True))

    surveys_demo.build(ctx)
    nps = Survey.objects.get(name=surveys_demo.NPS_NAME)
    csat = Survey.objects.get(name=surveys_demo.CSAT_NAME)
    assert nps.repeat_months == 3 and csat.tier == "high"
    wave = nps.waves.get()
    assert wave.status == WaveStatus.DONE and wave.sent == 40 and csat.waves.get().total == 10
    answers = SurveyResponse.objects.filter(survey=nps)
    assert 5 < answers.count() < 35
    # Answers follow the history: accounts that gave 2 stay low, those that gave 10 stay high.
    for answer in answers:
        assert (answer.score <= 5) if accounts.index(answer.account) % 2 else (answer.score >= 7)
    assert Event.objects.filter(source="survey").count() == SurveyResponse.objects.count()

    surveys_demo.build(ctx)
    assert (
        Survey.objects.count() == 2 and Event.objects.filter(source="survey").count() == SurveyResponse.objects.count()
    )

    surveys_demo.reset(ctx)
    assert not Survey.objects.exists() and not Event.objects.filter(source="survey").exists()
