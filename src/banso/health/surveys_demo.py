"""Demo surveys: a quarterly NPS sent to every customer's primary contact and a CSAT for high-touch accounts,
each with one past wave whose answers follow the account's own NPS history (so detractors stay detractors),
with Japanese comments. Called by health/demo.py (`build`, `reset`); a second run adds nothing.

No mail is sent: the demo's invitations are recorded as sent two weeks ago; the answers are stored as
responses and as `survey_nps` / `survey_csat` events, as a real answer would be.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl
from django.db import transaction

from banso.accounts.models import Account
from banso.activity import lake
from banso.activity.models import Event
from banso.activity.store import append_events
from banso.core.demo import DEMO_SOURCE, DemoContext

from . import surveys
from .models import (
    InvitationStatus,
    Survey,
    SurveyInvitation,
    SurveyKind,
    SurveyResponse,
    SurveyWave,
    WaveStatus,
)

NPS_NAME = "四半期NPS調査"
CSAT_NAME = "ハイタッチ顧客 サポート満足度調査"
RESPONSE_RATE = 0.45
COMMENTS = {
    "low": [
        "問い合わせの回答に時間がかかり、業務が止まることがあります。",
        "料金に見合った効果がまだ実感できていません。",
        "担当者が替わってから連絡が減りました。",
        "レポート機能が使いにくく、結局Excelで集計しています。",
    ],
    "mid": [
        "おおむね満足していますが、画面の動作がもう少し速いと助かります。",
        "機能は十分です。操作説明の資料がもう少しあると良いです。",
        "特に不満はありません。",
    ],
    "high": [
        "サポートの対応が早く、いつも助かっています。",
        "定例会で提案をもらえるのが心強いです。",
        "社内の他部署にも紹介しました。",
        "導入してから集計作業が半分になりました。",
    ],
}


def _names() -> list[str]:
    return [NPS_NAME, CSAT_NAME]


def _comment(rng: np.random.Generator, score: int, top: int) -> str:
    if rng.random() > 0.35:
        return ""
    band = "low" if score <= top * 0.6 else "high" if score >= top * 0.9 else "mid"
    options = COMMENTS[band]
    return str(options[int(rng.integers(0, len(options)))])


def build(ctx: DemoContext) -> None:
    if Survey.objects.filter(name__in=_names()).exists():
        ctx.progress("health: demo surveys already present")
        return
    if not Account.objects.filter(source=DEMO_SOURCE).exists():
        return
    lake.sync()  # the accounts' NPS history is read through the analytics engine
    rng = ctx.rng_for("health.surveys")
    sent_day = ctx.today - dt.timedelta(days=14)
    history = surveys.measure_values(["nps_latest"], sent_day - dt.timedelta(days=1), None)
    latest = dict(zip(history["account_id"].to_list(), history["nps_latest"].to_list(), strict=True))
    with transaction.atomic():
        nps = surveys.save_survey(
            None,
            surveys.SurveyData(
                name=NPS_NAME,
                kind=SurveyKind.NPS,
                repeat_months=3,
                next_due_on=sent_day + dt.timedelta(days=91),
            ),
            None,
        )
        csat = surveys.save_survey(
            None,
            surveys.SurveyData(
                name=CSAT_NAME,
                kind=SurveyKind.CSAT,
                audience="tier",
                tier="high",
                comment_question="サポートについてご意見があればお聞かせください（任意）。",
            ),
            None,
        )
        answers = 0
        for survey in (nps, csat):
            answers += _past_wave(ctx, rng, survey, sent_day, latest)
    ctx.count("survey answers", answers)
    ctx.progress(f"health: 2 demo surveys, {answers:,} answers")


def _past_wave(
    ctx: DemoContext, rng: np.random.Generator, survey: Survey, sent_day: dt.date, latest: dict[int, Any]
) -> int:
    wave = surveys.start_wave(survey, due_on=sent_day, enqueue=False)
    sent_at = surveys.day_start_utc(sent_day) + dt.timedelta(hours=1)  # 10:00 in Japan
    invitations = list(wave.invitations.all())
    SurveyInvitation.objects.filter(wave=wave).update(
        status=InvitationStatus.SENT, sent_at=sent_at, expires_at=sent_at + dt.timedelta(days=30)
    )
    SurveyWave.objects.filter(pk=wave.pk).update(
        status=WaveStatus.DONE,
        sent=len(invitations),
        started_at=sent_at,
        finished_at=sent_at,
        created_at=sent_at,
    )
    responses = []
    for invitation in invitations:
        if rng.random() > RESPONSE_RATE:
            continue
        base = latest.get(invitation.account_id)
        nps = float(base) if base is not None else float(rng.normal(7.5, 1.5))
        nps = float(np.clip(np.rint(nps + rng.normal(0, 1.0)), 0, 10))
        score = int(nps) if survey.kind == SurveyKind.NPS else int(np.clip(np.rint(1 + nps * 0.4), 1, 5))
        answered_at = sent_at + dt.timedelta(hours=float(rng.uniform(1, 24 * 7)))
        responses.append(
            SurveyResponse(
                invitation=invitation,
                survey=survey,
                account_id=invitation.account_id,
                contact_id=invitation.contact_id,
                score=score,
                comment=_comment(rng, score, survey.max_score),
                answered_at=answered_at,
            )
        )
    SurveyResponse.objects.bulk_create(responses, batch_size=1000)
    stored = {r.invitation_id: r.pk for r in SurveyResponse.objects.filter(survey=survey)}
    kind = surveys.EVENT_KINDS[SurveyKind(survey.kind)]
    frame = pl.DataFrame(
        {
            "source": [surveys.EVENT_SOURCE] * len(responses),
            "external_id": [f"invitation-{r.invitation_id}" for r in responses],
            "account_id": [r.account_id for r in responses],
            "end_user_id": [None] * len(responses),
            "kind": [kind] * len(responses),
            "occurred_at": [r.answered_at for r in responses],
            "value": [str(r.score) for r in responses],
            "properties": [
                json.dumps(
                    {
                        "survey": survey.pk,
                        "wave": wave.pk,
                        "contact": r.contact_id,
                        "response": stored[r.invitation_id],
                    }
                )
                for r in responses
            ],
        },
        schema_overrides={"end_user_id": pl.Int64, "occurred_at": pl.Datetime("us", "UTC")},
    )
    append_events(frame)
    return len(responses)


def reset(ctx: DemoContext) -> None:
    """Remove the demo surveys with their waves and answers, and the answers' events."""
    with transaction.atomic():
        found = Survey.objects.filter(name__in=_names(), created_by=None)
        ids = [
            f"invitation-{pk}"
            for pk in SurveyInvitation.objects.filter(wave__survey__in=found).values_list("pk", flat=True)
        ]
        for start in range(0, len(ids), 500):
            Event.objects.filter(source=surveys.EVENT_SOURCE, external_id__in=ids[start : start + 500]).delete()
        found.delete()
