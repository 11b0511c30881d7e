"""Trigger test data: the state changes triggers read (health snapshots, risk predictions, NPS answers, segment
stays) made directly, so each test states exactly what changed and when."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from banso.accounts.models import Account
from banso.analytics.models import SegmentMembership
from banso.churn.models import RiskModel, RiskPrediction
from banso.health.models import HealthSnapshot, Survey, SurveyInvitation, SurveyResponse, SurveyWave

from ..accounts.factories import ContactFactory
from ..health.survey_factories import SurveyFactory

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=TOKYO)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), TOKYO)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def snapshot(account: Account, day: dt.date, band: str) -> HealthSnapshot:
    # Snapshots keep no database references to cards (see the model): ids are enough here.
    score = {"red": 30, "yellow": 55, "green": 80}[band]
    return HealthSnapshot.objects.create(account=account, day=day, score=score, band=band, scorecard_id=1, version_id=1)


def risk_model(as_of: dt.date = TODAY) -> RiskModel:
    return RiskModel.objects.create(as_of=as_of, horizon_days=90, booster="")


def risk(account: Account, model: RiskModel, day: dt.date, probability: float) -> RiskPrediction:
    return RiskPrediction.objects.create(account=account, model=model, day=day, probability=probability)


def nps_answer(account: Account, score: int, answered_at: dt.datetime, survey: Survey | None = None) -> SurveyResponse:
    survey = survey or SurveyFactory()
    contact = ContactFactory(account=account)
    wave = SurveyWave.objects.create(survey=survey, due_on=answered_at.date())
    invitation = SurveyInvitation.objects.create(
        wave=wave, account=account, contact=contact, email=contact.email, expires_at=answered_at + dt.timedelta(30)
    )
    return SurveyResponse.objects.create(
        invitation=invitation, survey=survey, account=account, contact=contact, score=score, answered_at=answered_at
    )


def stay(segment_id: int, account: Account, entered: dt.datetime, left: dt.datetime | None = None) -> SegmentMembership:
    return SegmentMembership.objects.create(
        segment_id=segment_id, subject_id=account.pk, entered_at=entered, left_at=left
    )


def aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9)), TOKYO)
