"""Demo newsletters for the tourism mall (seed 003): two already sent, with opens and clicks from the members
who allow tracking, and one scheduled. Sent through the real path (frozen recipients, outbox rows), then the
outbox rows are marked delivered in the past so the demo mails no invented address."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from banso.accounts.choices import EndUserKind
from banso.accounts.models import EndUser
from banso.analytics.models import Segment, SubjectType
from banso.playbooks.models import MessageStatus, OutboxMessage, Unsubscribe

from . import newsletters
from .models import Newsletter, NewsletterDelivery, NewsletterStatus

FOOTER = "\n\n{{ company.name }} 会員事務局"
ISSUES: list[dict[str, Any]] = [
    {
        "title": "秋の紅葉特集",
        "subject": "{{ member.name }} 様、紅葉の見頃に合わせた宿とツアーのご案内",
        "body": "{{ member.name }} 様\n\nいつもご利用ありがとうございます。\n"
        "紅葉が見頃を迎える地域の宿と日帰りツアーを集めました。\n"
        "特集ページ: https://tabi.example.jp/features/autumn/\n"
        "会員限定クーポン: https://tabi.example.jp/coupons/autumn/" + FOOTER,
        "days_ago": 35,
    },
    {
        "title": "年末年始のおすすめ宿",
        "subject": "【会員限定】年末年始の空室情報",
        "body": "{{ member.name }} 様（会員登録日: {{ member.member_since }}）\n\n"
        "年末年始に空室のある温泉宿をご紹介します。\n"
        "空室一覧: https://tabi.example.jp/stays/new-year/" + FOOTER,
        "days_ago": 7,
    },
]
SCHEDULED: dict[str, str] = {
    "title": "春の桜プラン先行予約",
    "subject": "{{ member.name }} 様だけに先行公開：春の桜プラン",
    "body": "{{ member.name }} 様\n\n桜の名所を巡るプランを会員の皆様に先行してご案内します。\n"
    "https://tabi.example.jp/features/sakura/" + FOOTER,
}


def _consent(members: list[EndUser], rng: random.Random) -> None:
    """About six in ten members allow tracking (EndUser.attributes["newsletter_tracking"])."""
    changed = []
    for m in members:
        if newsletters.TRACKING_ATTRIBUTE not in (m.attributes or {}):
            m.attributes = dict(m.attributes or {}) | {newsletters.TRACKING_ATTRIBUTE: rng.random() < 0.6}
            changed.append(m)
    EndUser.objects.bulk_update(changed, ["attributes"], batch_size=1000)


def _engage(newsletter: Newsletter, rng: random.Random) -> None:
    sent_at = newsletter.sent_at or timezone.now()
    messages = newsletter.deliveries.exclude(outbox_message=None).values_list("outbox_message_id", flat=True)
    OutboxMessage.objects.filter(id__in=messages, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENT, sent_at=sent_at, attempts=1
    )
    changed = []
    for delivery in newsletter.deliveries.filter(tracked=True):
        if rng.random() < 0.45:
            delivery.opened_at = sent_at + dt.timedelta(minutes=rng.randint(5, 60 * 48))
            if rng.random() < 0.35:
                delivery.clicked_at = delivery.opened_at + dt.timedelta(minutes=rng.randint(0, 10))
                delivery.clicks = rng.randint(1, 3)
            changed.append(delivery)
    NewsletterDelivery.objects.bulk_update(changed, ["opened_at", "clicked_at", "clicks"], batch_size=1000)


def demo_data(
    members: Iterable[EndUser] | None = None, *, now: dt.datetime | None = None, seed: int = 9, limit: int = 2000
) -> dict[str, Any]:
    """Two sent newsletters with opens and clicks and one scheduled (skipped when they exist already).

    `members` defaults to the first `limit` members with an email; the second issue goes to the first end-user
    segment when there is one."""
    now = now or timezone.now()
    rng = random.Random(seed)
    if Newsletter.objects.filter(title__in=[i["title"] for i in ISSUES] + [SCHEDULED["title"]]).exists():
        return {"created": 0}
    chosen = list(members) if members is not None else None
    if chosen is None:
        chosen = list(EndUser.objects.filter(kind=EndUserKind.MEMBER).exclude(email="").order_by("id")[:limit])
    segment = Segment.objects.filter(subject_type=SubjectType.END_USER).order_by("id").first()
    with transaction.atomic():
        _consent(chosen, rng)
    created = []
    for index, issue in enumerate(ISSUES):
        when = (now - dt.timedelta(days=int(issue["days_ago"]))).replace(microsecond=0)
        newsletter = Newsletter.objects.create(
            title=issue["title"],
            subject=issue["subject"],
            body=issue["body"],
            segment=segment if index == 1 and members is None else None,
            status=NewsletterStatus.SCHEDULED,
            scheduled_at=when,
            created_at=when - dt.timedelta(days=2),
        )
        if members is not None:
            _freeze_only(newsletter, chosen)
        sent = newsletters.send(newsletter.pk, now=when)
        if sent is not None:
            _engage(sent, rng)
            created.append(sent)
    upcoming = timezone.localtime(now, newsletters.TOKYO) + dt.timedelta(days=5)
    scheduled = Newsletter.objects.create(
        title=SCHEDULED["title"],
        subject=SCHEDULED["subject"],
        body=SCHEDULED["body"],
        status=NewsletterStatus.SCHEDULED,
        scheduled_at=upcoming.replace(hour=10, minute=0, second=0, microsecond=0),
    )
    return {"created": len(created) + 1, "sent": [n.pk for n in created], "scheduled": scheduled.pk}


def _freeze_only(newsletter: Newsletter, members: list[EndUser]) -> None:
    """Given members: freeze exactly them (the demo's own list rather than every member)."""
    gone = set(Unsubscribe.objects.values_list("email", flat=True))
    with transaction.atomic():
        NewsletterDelivery.objects.bulk_create(
            [
                NewsletterDelivery(
                    newsletter=newsletter,
                    end_user=m,
                    email=m.email,
                    token=secrets.token_urlsafe(24),
                    tracked=newsletters.allows_tracking(m),
                )
                for m in members
                if m.email and m.email.lower() not in gone
            ],
            ignore_conflicts=True,
        )
        Newsletter.objects.filter(pk=newsletter.pk).update(
            status=NewsletterStatus.SENDING, recipients=newsletter.deliveries.count()
        )
