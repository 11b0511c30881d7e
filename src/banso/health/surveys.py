"""NPS and CSAT surveys: designing them, sending a wave of signed links by email, taking one answer per link,
and reading the answers back (aggregates, the Account 360 card, the `survey:` scorecard measures).

Sending is at-least-once per recipient: each invitation is marked sent in its own transaction right after the
SMTP server accepted the message, so a send killed between the accept and that mark sends that one
recipient again on resume. The duplicate is harmless: both mails carry the same link (the token names the
invitation), and a database constraint lets an invitation have only one answer. At-most-once (marking before
sending) would instead lose the survey for that recipient silently.

Every answer is also an event on the account (`survey_nps` / `survey_csat`, value = score), so aggregates and
measures read the event store and treat imported or demo history and real answers alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import polars as pl
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from banso.accounts.choices import AccountKind, TouchTier
from banso.accounts.models import Account, Contact
from banso.activity.models import Event
from banso.activity.store import append_events
from banso.analytics.models import Segment, SegmentMembership
from banso.core.calendar import add_months
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .models import (
    InvitationStatus,
    Survey,
    SurveyAudience,
    SurveyInvitation,
    SurveyKind,
    SurveyRecipients,
    SurveyResponse,
    SurveyWave,
    WaveStatus,
)

logger = logging.getLogger(__name__)

JST = ZoneInfo("Asia/Tokyo")
TOKEN_SALT = "banso.health.survey"  # noqa: S105  (a namespace for signatures, not a secret)
EVENT_SOURCE = "survey"
EVENT_KINDS = {SurveyKind.NPS: "survey_nps", SurveyKind.CSAT: "survey_csat"}
COMPANY_PLACEHOLDER = "{会社名}"
DEFAULT_QUESTIONS = {
    SurveyKind.NPS: "{会社名}を同僚や知人に薦める可能性はどのくらいありますか？",
    SurveyKind.CSAT: "{会社名}のサービスにどのくらい満足していますか？",
}
DEFAULT_COMMENT_QUESTION = "そのように評価された理由をお聞かせください（任意）。"
MAX_COMMENT = 2000
# A wave still marked sending after this long without a message sent lost its worker and may be resumed.
STALL_AFTER = dt.timedelta(minutes=10)
AUDITED = [
    "name",
    "kind",
    "question",
    "comment_question",
    "audience",
    "tier",
    "segment",
    "recipients",
    "repeat_months",
    "next_due_on",
    "link_valid_days",
    "is_active",
]


class SurveyError(ValueError):
    """Input refused, naming the field (`name`, `tier`, `score`…)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AlreadyAnswered(Exception):
    pass


def company_name() -> str:
    return str(getattr(settings, "BANSO_COMPANY_NAME", "") or "当社")


def question_text(survey: Survey) -> str:
    return survey.question.replace(COMPANY_PLACEHOLDER, company_name())


# Designing ------------------------------------------------------------------------------------------


@dataclass
class SurveyData:
    name: str
    kind: str = SurveyKind.NPS
    question: str = ""
    comment_question: str = DEFAULT_COMMENT_QUESTION
    audience: str = SurveyAudience.ALL
    tier: str = ""
    segment_id: int | None = None
    recipients: str = SurveyRecipients.PRIMARY
    repeat_months: int | None = None
    next_due_on: dt.date | None = None
    link_valid_days: int = 30
    is_active: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _validate(data: SurveyData) -> None:
    if not data.name.strip():
        raise SurveyError("name", _("Enter a name."))
    if data.kind not in SurveyKind.values:
        raise SurveyError("kind", _("Choose NPS or CSAT."))
    if data.audience not in SurveyAudience.values:
        raise SurveyError("audience", _("Choose who receives the survey."))
    if data.audience == SurveyAudience.TIER and data.tier not in TouchTier.values:
        raise SurveyError("tier", _("Choose a touch tier."))
    if data.audience == SurveyAudience.SEGMENT:
        if data.segment_id is None:
            raise SurveyError("segment_id", _("Choose an account segment."))
        if not Segment.objects.filter(pk=data.segment_id, subject_type="account").exists():
            raise SurveyError("segment_id", _("No account segment with this id."))
    if data.recipients not in SurveyRecipients.values:
        raise SurveyError("recipients", _("Choose which contacts receive the survey."))
    if data.repeat_months is not None and not 1 <= data.repeat_months <= 24:
        raise SurveyError("repeat_months", _("Repeat every 1 to 24 months, or leave empty for a one-off survey."))
    if not 1 <= data.link_valid_days <= 365:
        raise SurveyError("link_valid_days", _("Links stay valid for 1 to 365 days."))
    if len(data.question) > 1000:
        raise SurveyError("question", _("The question is too long (1,000 characters at most)."))


def save_survey(survey: Survey | None, data: SurveyData, actor: User | None, via: str = "ui") -> Survey:
    """Create or update a survey; the question defaults to the standard one for its kind."""
    _validate(data)
    creating = survey is None
    if survey is None:
        survey = Survey(created_by=actor)
    before = None if creating else snapshot(survey, AUDITED)
    survey.name = data.name.strip()
    survey.kind = data.kind
    survey.question = data.question.strip() or DEFAULT_QUESTIONS[SurveyKind(data.kind)]
    survey.comment_question = data.comment_question.strip()
    survey.audience = data.audience
    survey.tier = data.tier if data.audience == SurveyAudience.TIER else ""
    survey.segment_id = data.segment_id if data.audience == SurveyAudience.SEGMENT else None
    survey.recipients = data.recipients
    survey.repeat_months = data.repeat_months
    survey.next_due_on = (data.next_due_on or timezone.localdate()) if data.repeat_months else None
    survey.link_valid_days = data.link_valid_days
    survey.is_active = data.is_active
    survey.updated_at = timezone.now()
    with transaction.atomic():
        survey.save()
        record_change(
            actor=actor,
            obj=survey,
            action=AuditAction.CREATE if creating else AuditAction.UPDATE,
            before=before,
            after=snapshot(survey, AUDITED),
            account_id=None,
            via=via,
        )
    return survey


def delete_survey(survey: Survey, actor: User | None, via: str = "ui") -> None:
    """Delete a survey never sent; one with waves keeps its answers (switch it off instead)."""
    if survey.waves.exists():
        raise SurveyError("survey", _("This survey has been sent; deactivate it instead of deleting its answers."))
    with transaction.atomic():
        record_change(
            actor=actor,
            obj=survey,
            action=AuditAction.DELETE,
            before=snapshot(survey, AUDITED),
            after=None,
            account_id=None,
            via=via,
        )
        survey.delete()


# Who receives it ------------------------------------------------------------------------------------


def audience_accounts(survey: Survey) -> list[int]:
    accounts = Account.objects.filter(kind=AccountKind.CUSTOMER).exclude(lifecycle_stage="churned")
    if survey.audience == SurveyAudience.TIER:
        accounts = accounts.filter(tier=survey.tier)
    elif survey.audience == SurveyAudience.SEGMENT:
        members = SegmentMembership.objects.filter(segment_id=survey.segment_id or 0, left_at__isnull=True)
        accounts = accounts.filter(pk__in=members.values("subject_id"))
    return list(accounts.order_by("id").values_list("id", flat=True))


def recipients_for(survey: Survey) -> list[Contact]:
    """The people to ask now: the chosen contacts of each account in the audience, each replaced by their
    successor if they left (`Contact.current`), without anyone who left with no successor or has no e-mail;
    one invitation per person even when two predecessors lead to them."""
    account_ids = audience_accounts(survey)
    contacts = {c.pk: c for c in Contact.objects.filter(account_id__in=account_ids)}
    chosen = [c for c in contacts.values() if survey.recipients == SurveyRecipients.ALL or c.is_primary]
    found: dict[int, Contact] = {}
    for contact in sorted(chosen, key=lambda c: c.pk):
        person = _current(contact, contacts)
        if person.left_on is not None or not person.email:
            continue
        found.setdefault(person.pk, person)
    return list(found.values())


def _current(contact: Contact, loaded: dict[int, Contact]) -> Contact:
    """`Contact.current`, following the chain through contacts already loaded (no query per hop)."""
    person, seen = contact, {contact.pk}
    while person.successor_id and person.successor_id not in seen:
        seen.add(person.successor_id)
        nxt = loaded.get(person.successor_id)
        if nxt is None:  # a successor at another account: let the model walk the rest
            return person.current
        person = nxt
    return person


# Sending ---------------------------------------------------------------------------------------------


def start_wave(
    survey: Survey,
    actor: User | None = None,
    *,
    due_on: dt.date | None = None,
    scheduled: bool = False,
    enqueue: bool = True,
) -> SurveyWave:
    """Create a wave with one invitation per recipient and (after commit) queue its background send.

    A scheduled wave for a day that already has one raises IntegrityError (the scheduler's idempotency)."""
    now = timezone.now()
    people = recipients_for(survey)
    with transaction.atomic():
        wave = SurveyWave.objects.create(
            survey=survey,
            due_on=due_on or timezone.localdate(),
            scheduled=scheduled,
            total=len(people),
            created_by=actor,
        )
        expires = now + dt.timedelta(days=survey.link_valid_days)
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(wave=wave, account_id=p.account_id, contact=p, email=p.email, expires_at=expires)
                for p in people
            ],
            batch_size=1000,
        )
        if enqueue:
            from .survey_tasks import send_survey_wave

            transaction.on_commit(lambda: send_survey_wave.enqueue(wave.pk))
    return wave


def is_stalled(wave: SurveyWave, now: dt.datetime | None = None) -> bool:
    """A wave marked sending that has sent nothing for STALL_AFTER: its worker was killed."""
    if wave.status != WaveStatus.SENDING:
        return False
    last = wave.invitations.aggregate(last=Max("sent_at"))["last"] or wave.started_at or wave.created_at
    return last < (now or timezone.now()) - STALL_AFTER


def resume_wave(wave: SurveyWave) -> bool:
    """Queue the rest of a wave whose send stopped (worker killed, SMTP down); False if nothing is left or it
    is still being sent (a second sender at the same time could mail the same recipient twice)."""
    wave.refresh_from_db()
    if wave.status in (WaveStatus.QUEUED, WaveStatus.SENDING) and not is_stalled(wave):
        return False
    if not wave.invitations.filter(status=InvitationStatus.PENDING).exists():
        return False
    from .survey_tasks import send_survey_wave

    SurveyWave.objects.filter(pk=wave.pk, status=wave.status).update(status=WaveStatus.QUEUED)
    transaction.on_commit(lambda: send_survey_wave.enqueue(wave.pk))
    return True


def token_for(invitation: SurveyInvitation) -> str:
    """The invitation's link token: signed (django.core.signing), without a timestamp, so every mail of one
    invitation carries the same link; it expires with the invitation's `expires_at`."""
    return signing.Signer(salt=TOKEN_SALT).sign_object({"i": invitation.pk}, compress=True)


def test_token(survey: Survey) -> str:
    return signing.Signer(salt=TOKEN_SALT).sign_object({"s": survey.pk, "t": 1}, compress=True)


def answer_url(token: str) -> str:
    base = str(getattr(settings, "BANSO_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")
    return base + reverse("survey_public:answer", args=[token])


def build_message(
    survey: Survey,
    *,
    to: str,
    name: str,
    link: str,
    expires_at: dt.datetime | None,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    """The invitation mail in Japanese (the customers' language), plain text and HTML with the same link."""
    context = {
        "survey": survey,
        "question": question_text(survey),
        "company": company_name(),
        "name": name,
        "link": link,
        "expires": timezone.localtime(expires_at) if expires_at else None,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[%(company)s] A short survey: %(name)s") % {"company": company_name(), "name": survey.name}
        text = render_to_string("health/surveys/email.txt", context)
        html = render_to_string("health/surveys/email.html", context)
    message = EmailMultiAlternatives(subject, text, to=[to], connection=connection)
    message.attach_alternative(html, "text/html")
    return message


def send_test(survey: Survey, to: str, connection: BaseEmailBackend | None = None) -> None:
    """Send the invitation to `to` (the user themself) with a link that shows the page but stores nothing."""
    link = answer_url(test_token(survey))
    build_message(survey, to=to, name=to, link=link, expires_at=None, connection=connection).send()


def send_wave(
    wave_id: int, connection: BaseEmailBackend | None = None, echo: Callable[[str], None] | None = None
) -> SurveyWave:
    """Send every invitation of the wave not sent yet, one at a time, recording each as it goes.

    Invitations already marked sent are never sent again, so a killed send is resumed by running this again."""
    claimed = SurveyWave.objects.filter(pk=wave_id, status=WaveStatus.QUEUED).update(
        status=WaveStatus.SENDING, started_at=timezone.now()
    )
    wave = SurveyWave.objects.select_related("survey").get(pk=wave_id)
    if not claimed:
        return wave  # another worker has it, or it is finished
    connection = connection or get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        SurveyWave.objects.filter(pk=wave.pk).update(
            status=WaveStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        wave.refresh_from_db()
        return wave
    try:
        pending = wave.invitations.filter(status=InvitationStatus.PENDING).select_related("contact").order_by("id")
        for invitation in pending.iterator(chunk_size=500):
            _send_one(wave, invitation, connection)
            if echo:
                echo(f"{invitation.email}")
    finally:
        connection.close()
    SurveyWave.objects.filter(pk=wave.pk, status=WaveStatus.SENDING).update(
        status=WaveStatus.DONE, finished_at=timezone.now()
    )
    wave.refresh_from_db()
    return wave


def _send_one(wave: SurveyWave, invitation: SurveyInvitation, connection: BaseEmailBackend) -> None:
    message = build_message(
        wave.survey,
        to=invitation.email,
        name=invitation.contact.name,
        link=answer_url(token_for(invitation)),
        expires_at=invitation.expires_at,
        connection=connection,
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        with transaction.atomic():
            SurveyInvitation.objects.filter(pk=invitation.pk).update(
                status=InvitationStatus.FAILED, error=str(exc)[:500]
            )
            SurveyWave.objects.filter(pk=wave.pk).update(failed=F("failed") + 1)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            connection.close()
            connection.open()
        return
    # Right after the server accepted it, in its own transaction: see the module docstring.
    with transaction.atomic():
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            status=InvitationStatus.SENT, sent_at=timezone.now(), error=""
        )
        SurveyWave.objects.filter(pk=wave.pk).update(sent=F("sent") + 1)


def due_waves(now: dt.datetime | None = None) -> str | None:
    """The scheduler's job: start the wave of every recurring survey whose next send day has come.

    Safe with several schedulers: the unique (survey, due day) constraint lets one of them create it."""
    today = timezone.localtime(now or timezone.now()).date()
    started = []
    for survey in Survey.objects.filter(is_active=True, repeat_months__isnull=False, next_due_on__lte=today):
        due_on = survey.next_due_on
        assert due_on is not None and survey.repeat_months is not None
        try:
            with transaction.atomic():
                start_wave(survey, due_on=due_on, scheduled=True)
                Survey.objects.filter(pk=survey.pk, next_due_on=due_on).update(
                    next_due_on=add_months(due_on, survey.repeat_months)
                )
        except IntegrityError:
            continue
        started.append(survey.name)
    if not started:
        return None
    return _("Survey waves queued: %(names)s") % {"names": "、".join(started)}


# Answering ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    state: str  # ok, test, invalid, expired, answered, closed
    survey: Survey | None = None
    invitation: SurveyInvitation | None = None


def check_token(token: str) -> TokenCheck:
    """What a link leads to: a form to answer, or why not (tampered, expired, already answered)."""
    try:
        payload = signing.Signer(salt=TOKEN_SALT).unsign_object(token)
    except signing.BadSignature:
        return TokenCheck("invalid")
    if not isinstance(payload, dict):
        return TokenCheck("invalid")
    is_test = bool(payload.get("t"))
    ident = payload.get("s" if is_test else "i")
    if not isinstance(ident, int):
        return TokenCheck("invalid")
    if is_test:
        survey = Survey.objects.filter(pk=ident).first()
        return TokenCheck("test", survey) if survey else TokenCheck("invalid")
    invitation = SurveyInvitation.objects.select_related("wave__survey", "contact", "account").filter(pk=ident).first()
    if invitation is None:
        return TokenCheck("invalid")
    survey = invitation.wave.survey
    if SurveyResponse.objects.filter(invitation=invitation).exists():
        return TokenCheck("answered", survey, invitation)
    if invitation.expires_at <= timezone.now():
        return TokenCheck("expired", survey, invitation)
    return TokenCheck("ok", survey, invitation)


def validate_answer(survey: Survey, score: Any, comment: str) -> tuple[int, str]:
    try:
        value = int(score)
    except (TypeError, ValueError):
        raise SurveyError("score", _("Choose a score.")) from None
    if not survey.min_score <= value <= survey.max_score:
        raise SurveyError(
            "score",
            _("Choose a score from %(low)d to %(high)d.") % {"low": survey.min_score, "high": survey.max_score},
        )
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise SurveyError("comment", _("The comment is too long (2,000 characters at most)."))
    return value, comment


def record_answer(invitation: SurveyInvitation, score: Any, comment: str = "") -> SurveyResponse:
    """Store the one answer of an invitation and append it to the account's events, together or not at all.

    A second answer (double submit, replayed link) raises AlreadyAnswered: the database refuses it."""
    survey = invitation.wave.survey
    value, comment = validate_answer(survey, score, comment)
    if invitation.expires_at <= timezone.now():
        raise SurveyError("token", _("This link has expired."))
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                invitation=invitation,
                survey=survey,
                account_id=invitation.account_id,
                contact_id=invitation.contact_id,
                score=value,
                comment=comment,
            )
            append_events(
                pl.DataFrame(
                    {
                        "source": [EVENT_SOURCE],
                        "external_id": [f"invitation-{invitation.pk}"],
                        "account_id": [invitation.account_id],
                        "end_user_id": [None],
                        "kind": [EVENT_KINDS[SurveyKind(survey.kind)]],
                        "occurred_at": [response.answered_at],
                        "value": [str(value)],
                        "properties": [
                            _json(
                                {
                                    "survey": survey.pk,
                                    "wave": invitation.wave_id,
                                    "contact": invitation.contact_id,
                                    "response": response.pk,
                                }
                            )
                        ],
                    },
                    schema_overrides={"end_user_id": pl.Int64, "occurred_at": pl.Datetime("us", "UTC")},
                )
            )
    except IntegrityError:
        raise AlreadyAnswered from None
    return response


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


# Reading answers back -------------------------------------------------------------------------------
#
# Answers are read from the event store with the aggregation in SQL (one row per group comes back, never
# one per answer): reading 400,000 answers row by row through the ORM took 13 s; grouped in the database
# it is a fraction of that. Japanese days and months: times are compared with the UTC instants of Japanese
# midnights, and months are taken in Asia/Tokyo.

EVENT_TABLE = Event._meta.db_table
ACCOUNT_TABLE = Account._meta.db_table
MEMBERSHIP_TABLE = SegmentMembership._meta.db_table
COUNT_COLUMNS = ("responses", "promoters", "passives", "detractors", "total", "satisfied")
_COUNTS_SQL = (
    "COUNT(*), SUM(CASE WHEN e.value >= 9 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN e.value >= 7 AND e.value < 9 THEN 1 ELSE 0 END), SUM(CASE WHEN e.value <= 6 THEN 1 ELSE 0 END), "
    "SUM(e.value), SUM(CASE WHEN e.value >= 4 THEN 1 ELSE 0 END)"
)


def day_start_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), JST).astimezone(dt.UTC)


def _instant(day: dt.date) -> Any:
    """A Japanese day's start as the database compares it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(day_start_utc(day))


def _jst_month(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column}, '+9 hours')"


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _frame(rows: list[tuple[Any, ...]], keys: dict[str, Any]) -> pl.DataFrame:
    names = [*keys, *COUNT_COLUMNS]
    schema: dict[str, Any] = {**keys, **dict.fromkeys(COUNT_COLUMNS, pl.Float64)}
    data = [
        [None if v is None else (float(v) if n in COUNT_COLUMNS else v) for n, v in zip(names, r, strict=True)]
        for r in rows
    ]
    return pl.DataFrame(data, schema=schema, orient="row")


def _derive(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """NPS = %promoters − %detractors; CSAT: the average and % satisfied (4–5), from the groups' counts."""
    n = pl.col("responses")
    if kind == SurveyKind.NPS:
        return frame.with_columns(((pl.col("promoters") - pl.col("detractors")) * 100.0 / n).alias("nps"))
    return frame.with_columns(
        (pl.col("total") / n).alias("average"), (pl.col("satisfied") * 100.0 / n).alias("satisfied_pct")
    )


def _row_out(row: dict[str, Any], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in row.items() if k not in COUNT_COLUMNS or k == "responses"}
    out["responses"] = int(row.get("responses") or 0)
    if not out["responses"]:
        return {k: v for k, v in out.items() if k not in ("nps", "average", "satisfied_pct")}
    if kind == SurveyKind.NPS:
        out.update({k: int(row[k]) for k in ("promoters", "passives", "detractors")})
    else:
        out.pop("nps", None)
    return out


def summarise_counts(frame: pl.DataFrame, kind: str) -> dict[str, Any]:
    """One summary of several groups' counts (sums them first)."""
    totals = frame.select([pl.col(c).sum() for c in COUNT_COLUMNS])
    return _row_out(_derive(totals, kind).to_dicts()[0], kind)


def months_back(as_of: dt.date, months: int) -> list[str]:
    out = []
    year, month = as_of.year, as_of.month
    for _i in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def aggregate(kind: str, as_of: dt.date | None = None, months: int = 12) -> dict[str, Any]:
    """The aggregation page and API: by month, by touch tier and by account segment, over `months` months.

    Two queries: answers grouped by (Japanese month, tier), and by current segment membership."""
    as_of = as_of or timezone.localdate()
    labels = months_back(as_of, months)
    first = dt.date.fromisoformat(labels[0] + "-01")
    where = (
        "e.kind = %s AND e.account_id IS NOT NULL AND e.value IS NOT NULL "
        "AND e.occurred_at >= %s AND e.occurred_at < %s"
    )
    params = [EVENT_KINDS[SurveyKind(kind)], _instant(first), _instant(as_of + dt.timedelta(days=1))]
    by_month_tier = _frame(
        _rows(
            f"SELECT {_jst_month('e.occurred_at')}, a.tier, {_COUNTS_SQL} FROM {EVENT_TABLE} e "  # noqa: S608
            f"JOIN {ACCOUNT_TABLE} a ON a.id = e.account_id WHERE {where} GROUP BY 1, 2",
            params,
        ),
        {"month": pl.String, "tier": pl.String},
    )
    by_segment = _frame(
        _rows(
            f"SELECT m.segment_id, {_COUNTS_SQL} FROM {EVENT_TABLE} e "  # noqa: S608
            f"JOIN {MEMBERSHIP_TABLE} m ON m.subject_id = e.account_id AND m.left_at IS NULL "
            f"WHERE {where} GROUP BY m.segment_id",
            params,
        ),
        {"segment_id": pl.Int64},
    )
    sums = [pl.col(c).sum() for c in COUNT_COLUMNS]
    months_found = {r["month"]: r for r in _derive(by_month_tier.group_by("month").agg(sums), kind).to_dicts()}
    by_month = [{**_row_out(months_found.get(m, {"responses": 0}), kind), "month": m, "label": m} for m in labels]
    tier_labels = dict(TouchTier.choices)
    by_tier = [
        {**_row_out(r, kind), "label": str(tier_labels.get(r["tier"], r["tier"]))}
        for r in _derive(by_month_tier.group_by("tier").agg(sums).sort("tier"), kind).to_dicts()
    ]
    names = dict(
        Segment.objects.filter(subject_type="account", pk__in=by_segment["segment_id"].to_list()).values_list(
            "id", "name"
        )
    )
    by_segment_rows = [
        {**_row_out(r, kind), "label": names.get(r["segment_id"], "")}
        for r in _derive(by_segment.sort("segment_id"), kind).to_dicts()
        if r["segment_id"] in names
    ]
    return {
        "kind": kind,
        "as_of": as_of,
        "first_day": first,
        "overall": summarise_counts(by_month_tier, kind),
        "by_month": by_month,
        "by_tier": by_tier,
        "by_segment": by_segment_rows,
    }


def wave_rates(survey: Survey) -> list[dict[str, Any]]:
    """Response rate per wave: answers over invitations sent."""
    waves = survey.waves.annotate(answered=Count("invitations__response")).order_by("-created_at", "-id")
    out = []
    for wave in waves:
        rate = round(100 * wave.answered / wave.sent, 1) if wave.sent else None
        out.append({"wave": wave, "answered": wave.answered, "rate": rate})
    return out


def survey_summary(survey: Survey) -> dict[str, Any]:
    """This survey's own answers (the responses table), summarised in one query."""
    found = survey.responses.aggregate(
        responses=Count("id"),
        promoters=Count("id", filter=Q(score__gte=9)),
        passives=Count("id", filter=Q(score__gte=7, score__lte=8)),
        detractors=Count("id", filter=Q(score__lte=6)),
        total=Sum("score"),
        satisfied=Count("id", filter=Q(score__gte=4)),
    )
    frame = pl.DataFrame(
        [{k: float(v or 0) for k, v in found.items()}], schema=dict.fromkeys(COUNT_COLUMNS, pl.Float64)
    )
    return summarise_counts(frame, survey.kind)


def measure_values(keys: Sequence[str], as_of: dt.date, account_ids: Sequence[int] | None) -> pl.DataFrame:
    """The `survey:` scorecard measures as of a day, for all accounts at once, by the analytics engine (one
    grouped query over the events; the rescore copies new events to the engine first):
    `nps_latest` the latest NPS score (0–10) in the 365 days to the day, `nps_365d` the account's NPS
    (−100..100) over those days, `csat_avg_180d` the average CSAT score (1–5) over 180 days."""
    from banso.analytics.backends import get_backend
    from banso.analytics.engine import day_start

    from .measures import current_backend

    for key in keys:
        if key not in MEASURE_KEYS:
            raise KeyError(key)

    def instant(day: dt.date) -> Any:
        return ibis.literal(day_start(day), type="timestamp('UTC')")

    first = as_of - dt.timedelta(days=364)
    backend = current_backend() or get_backend()
    e = backend.events(since=first)
    e = e.filter(
        e.kind.isin(["survey_nps", "survey_csat"]),
        e.account_id.notnull(),
        e.value.notnull(),
        e.occurred_at >= instant(first),
        e.occurred_at < instant(as_of + dt.timedelta(days=1)),
    )
    score = e.value.cast("float64")
    nps = e.kind == "survey_nps"
    csat = (e.kind == "survey_csat") & (e.occurred_at >= instant(as_of - dt.timedelta(days=179)))
    query = e.group_by("account_id").aggregate(
        latest=score.argmax(e.occurred_at, where=nps),
        nps_n=e.count(where=nps),
        promoters=e.count(where=nps & (score >= 9)),
        detractors=e.count(where=nps & (score <= 6)),
        csat_sum=score.sum(where=csat),
        csat_n=e.count(where=csat),
    )
    found = pl.from_arrow(query.to_pyarrow())
    assert isinstance(found, pl.DataFrame)
    frame = found.select(
        pl.col("account_id").cast(pl.Int64),
        pl.when(pl.col("nps_n") > 0).then(pl.col("latest")).alias("nps_latest"),
        pl.when(pl.col("nps_n") > 0)
        .then((pl.col("promoters").cast(pl.Float64) - pl.col("detractors").cast(pl.Float64)) * 100.0 / pl.col("nps_n"))
        .alias("nps_365d"),
        pl.when(pl.col("csat_n") > 0).then(pl.col("csat_sum") / pl.col("csat_n")).alias("csat_avg_180d"),
    )
    if account_ids is not None:
        wanted = pl.DataFrame({"account_id": sorted({int(i) for i in account_ids})}, schema={"account_id": pl.Int64})
        frame = wanted.join(frame, on="account_id", how="left")
    return frame.sort("account_id").select("account_id", *[pl.col(k).cast(pl.Float64) for k in keys])


MEASURE_KEYS = ("nps_latest", "nps_365d", "csat_avg_180d")


def account_card(account: Account) -> dict[str, Any]:
    """The Account 360 card: the account's latest answers with who gave them (one query)."""
    responses = list(
        SurveyResponse.objects.filter(account=account)
        .select_related("survey", "contact")
        .order_by("-answered_at", "-id")[:5]
    )
    return {"responses": responses}


def comments(survey: Survey, limit: int = 50) -> list[SurveyResponse]:
    return list(
        survey.responses.exclude(comment="").select_related("account", "contact").order_by("-answered_at")[:limit]
    )


def wave_counts(wave: SurveyWave) -> dict[str, int]:
    found = wave.invitations.aggregate(
        pending=Count("id", filter=Q(status=InvitationStatus.PENDING)),
        answered=Count("response"),
    )
    return {"pending": found["pending"], "answered": found["answered"]}


# Plugging into the platform -------------------------------------------------------------------------


def survey_measure_options() -> list[Any]:
    from django.utils.translation import gettext_lazy

    from .measures import MeasureOption

    category = gettext_lazy("Voice of the customer")
    return [
        MeasureOption("nps_latest", gettext_lazy("Latest NPS score (0–10, 365 days)"), "点", True, category),
        MeasureOption("nps_365d", gettext_lazy("Account NPS (−100 to 100, 365 days)"), "", True, category),
        MeasureOption("csat_avg_180d", gettext_lazy("Average CSAT (1–5, 180 days)"), "点", True, category),
    ]


def register_survey_parts() -> None:
    """From HealthConfig.ready(): the `survey:` measures, the Account 360 card, the recurring-send job and the
    CSAT event kind (the NPS one is registered by activity)."""
    from django.utils.translation import gettext_lazy

    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.labels import register_event_kinds
    from banso.core.permissions import Capability
    from banso.core.schedule import ScheduledJob, register_job

    from .measures import MeasureSource, register_source

    register_source(MeasureSource("survey", gettext_lazy("Surveys"), survey_measure_options, measure_values))
    register_account_panel(AccountPanel("health/_survey_card.html", Capability.VIEW_ACCOUNTS, account_card))
    register_job(ScheduledJob("health.survey_waves", due_waves))
    register_event_kinds({"survey_csat": gettext_lazy("CSAT answer")})
