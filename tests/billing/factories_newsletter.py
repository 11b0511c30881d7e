"""Members, end-user segments and newsletters for the newsletter tests (small: a handful of members)."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from banso.accounts.choices import EndUserKind
from banso.accounts.models import EndUser
from banso.analytics.models import Segment, SegmentMembership
from banso.billing.models import Newsletter

TOKYO = ZoneInfo("Asia/Tokyo")
_ids = itertools.count(1)


def member(name: str, email: str, *, tracking: bool = False, since: dt.date | None = None, **attributes) -> EndUser:
    if tracking:
        attributes["newsletter_tracking"] = True
    created = dt.datetime.combine(since, dt.time(12), TOKYO) if since else timezone.now()
    return EndUser.objects.create(
        kind=EndUserKind.MEMBER,
        source="mall",
        external_id=f"M{next(_ids):05d}",
        name=name,
        email=email,
        attributes=attributes,
        created_at=created,
    )


def segment_of(*members: EndUser, left: tuple[EndUser, ...] = (), name: str = "") -> Segment:
    """An end-user segment whose current members are `members`; `left` were members once."""
    segment = Segment.objects.create(
        name=name or f"会員セグメント{next(_ids)}",
        subject_type="end_user",
        rules={"match": "all", "rules": []},
        member_count=len(members),
    )
    entered = timezone.now() - dt.timedelta(days=30)
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment=segment, subject_id=m.pk, entered_at=entered) for m in members]
        + [
            SegmentMembership(segment=segment, subject_id=m.pk, entered_at=entered, left_at=timezone.now())
            for m in left
        ]
    )
    return segment


class NewsletterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Newsletter

    title = factory.Sequence(lambda n: f"会員通信 第{n}号")
    subject = "{{ member.name }} 様へ 春のおすすめプラン"
    body = (
        "{{ member.name }} 様\n\n"
        "いつもご利用ありがとうございます。会員登録日: {{ member.member_since }}\n"
        "春の特集はこちら: https://tabi.example.jp/spring/\n"
        "宿の一覧 https://tabi.example.jp/stays/?area=kyoto をご覧ください。\n\n"
        "{{ company.name }}"
    )
    track = True
