"""The SLA clock in business minutes: weekends, Japanese holidays, the lunch break, pausing statuses, reopening
and priority changes, as seen on the inquiry's due columns the inbox sorts by."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banso.core.business_hours import BusinessHours
from banso.core.models import ClosedDay
from banso.support import desk, sla
from banso.support.models import Channel, Priority, SlaMeasurement, SlaMetric, SlaPolicy, Status, StatusCategory

from .factories import AgentFactory

TOKYO = ZoneInfo("Asia/Tokyo")
pytestmark = pytest.mark.django_db


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def open_at(at: dt.datetime, priority: str = Priority.URGENT, channel: str = Channel.EMAIL, **kwargs):
    return desk.open_inquiry(
        channel=channel, subject="予約の変更", body="日時を変更したいです。", priority=priority, at=at, **kwargs
    )


def measurement(inquiry, metric: str) -> SlaMeasurement:
    return SlaMeasurement.objects.filter(inquiry=inquiry, metric=metric).latest("id")


def test_friday_1750_with_30_minute_target_is_due_monday_0920():
    inquiry = open_at(jst(2026, 11, 13, 17, 50))  # Friday
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at == jst(2026, 11, 16, 9, 20)
    assert inquiry.sla_next_due_at == jst(2026, 11, 16, 9, 20)


def test_japanese_holiday_is_skipped():
    # Monday 2026-11-23 is 勤労感謝の日.
    inquiry = open_at(jst(2026, 11, 20, 17, 50))
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at == jst(2026, 11, 24, 9, 20)


def test_company_closed_day_is_skipped():
    ClosedDay.objects.create(date=dt.date(2026, 11, 16), name="臨時休業")
    inquiry = open_at(jst(2026, 11, 13, 17, 50))
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at == jst(2026, 11, 17, 9, 20)


def test_lunch_break_does_not_count():
    inquiry = open_at(jst(2026, 11, 26, 11, 50))
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at == jst(2026, 11, 26, 13, 20)
    # Resolution 8 business hours: 11:50–12:00, 13:00–18:00, then 9:00–11:50 the next day.
    assert inquiry.resolution_due_at == jst(2026, 11, 27, 11, 50)


def test_team_business_hours_apply_when_the_policy_has_none():
    from .factories import SupportTeamFactory

    team = SupportTeamFactory(support__round_robin=False)
    team.support.business_hours = [["10:00", "16:00"]]
    team.support.save()
    inquiry = open_at(jst(2026, 11, 26, 15, 50), team=team)
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at == jst(2026, 11, 27, 10, 20)


def test_channel_policy_beats_the_priority_policy():
    sla.ensure_default_policies()
    SlaPolicy.objects.create(
        name="チャット緊急",
        priority=Priority.URGENT,
        channel=Channel.CHAT,
        first_response_minutes=5,
        resolution_minutes=60,
    )
    chat = open_at(jst(2026, 11, 26, 10, 0), channel=Channel.CHAT)
    mail = open_at(jst(2026, 11, 26, 10, 0), channel=Channel.EMAIL)
    chat.refresh_from_db()
    mail.refresh_from_db()
    assert chat.first_response_due_at == jst(2026, 11, 26, 10, 5)
    assert mail.first_response_due_at == jst(2026, 11, 26, 10, 30)


def test_reply_in_time_meets_first_response_and_records_minutes_taken():
    agent = AgentFactory()
    inquiry = open_at(jst(2026, 11, 26, 11, 50))
    desk.reply(inquiry, agent, "ご連絡ありがとうございます。", at=jst(2026, 11, 26, 13, 10))
    first = measurement(inquiry, SlaMetric.FIRST_RESPONSE)
    assert first.business_minutes == 20
    assert first.breached is False
    assert first.assignee == agent
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at is None
    assert inquiry.sla_next_due_at == inquiry.resolution_due_at


def test_late_reply_is_breached():
    agent = AgentFactory()
    inquiry = open_at(jst(2026, 11, 26, 10, 0))
    desk.reply(inquiry, agent, "遅くなりました。", at=jst(2026, 11, 26, 10, 45))
    first = measurement(inquiry, SlaMetric.FIRST_RESPONSE)
    assert (first.business_minutes, first.breached) == (45, True)


def test_customer_writing_after_a_reply_opens_next_response():
    agent = AgentFactory()
    inquiry = open_at(jst(2026, 11, 26, 10, 0))
    desk.reply(inquiry, agent, "確認します。", at=jst(2026, 11, 26, 10, 10))
    desk.add_customer_message(inquiry, "よろしくお願いします。", at=jst(2026, 11, 26, 11, 30))
    inquiry.refresh_from_db()
    # Urgent next response: 60 business minutes, across lunch.
    assert inquiry.next_response_due_at == jst(2026, 11, 26, 13, 30)
    desk.reply(inquiry, agent, "対応しました。", at=jst(2026, 11, 26, 13, 5))
    following = measurement(inquiry, SlaMetric.NEXT_RESPONSE)
    assert (following.business_minutes, following.breached) == (35, False)


def waiting() -> Status:
    return desk.status("waiting_customer")


def test_pause_over_a_weekend_costs_nothing():
    inquiry = open_at(jst(2026, 11, 13, 17, 0), priority=Priority.NORMAL)  # Friday, first response 240 min
    inquiry.refresh_from_db()
    due_before = inquiry.first_response_due_at
    desk.set_status(inquiry, waiting(), at=jst(2026, 11, 13, 18, 10))
    inquiry.refresh_from_db()
    assert inquiry.sla_paused_at is not None
    assert inquiry.sla_next_due_at is None
    desk.set_status(inquiry, desk.status("open"), at=jst(2026, 11, 16, 8, 50))
    inquiry.refresh_from_db()
    assert inquiry.sla_paused_at is None
    assert inquiry.first_response_due_at == due_before == jst(2026, 11, 16, 12, 0)


def test_pause_in_business_hours_pushes_every_open_target():
    inquiry = open_at(jst(2026, 11, 26, 10, 0))  # first response 10:30, resolution Fri 10:00
    desk.set_status(inquiry, waiting(), at=jst(2026, 11, 26, 10, 10))
    desk.add_customer_message(inquiry, "写真を送ります。", at=jst(2026, 11, 26, 10, 40))
    inquiry.refresh_from_db()
    assert inquiry.status.key == "open"
    assert inquiry.first_response_due_at == jst(2026, 11, 26, 11, 0)
    assert inquiry.resolution_due_at == jst(2026, 11, 27, 10, 30)
    assert inquiry.sla_next_due_at == jst(2026, 11, 26, 11, 0)


def test_reply_during_a_pause_does_not_count_the_paused_minutes():
    agent = AgentFactory()
    inquiry = open_at(jst(2026, 11, 26, 10, 0))
    desk.set_status(inquiry, waiting(), at=jst(2026, 11, 26, 10, 10))
    desk.reply(inquiry, agent, "お待ちしています。", at=jst(2026, 11, 26, 11, 30))
    first = measurement(inquiry, SlaMetric.FIRST_RESPONSE)
    assert (first.business_minutes, first.breached) == (10, False)


def test_solving_meets_resolution_and_reopening_keeps_the_remaining_budget():
    agent = AgentFactory()
    inquiry = open_at(jst(2026, 11, 26, 9, 0), priority=Priority.NORMAL)  # resolution 1440 min
    desk.reply(inquiry, agent, "解決しました。", new_status=desk.status("solved"), at=jst(2026, 11, 26, 10, 40))
    resolution = measurement(inquiry, SlaMetric.RESOLUTION)
    assert (resolution.business_minutes, resolution.breached) == (100, False)
    inquiry.refresh_from_db()
    assert inquiry.sla_next_due_at is None and inquiry.resolution_due_at is None
    # The customer writes back on Monday 30 Nov at 9:00: 1,340 business minutes left from then.
    desk.add_customer_message(inquiry, "まだ直っていません。", at=jst(2026, 11, 30, 9, 0))
    inquiry.refresh_from_db()
    expected = BusinessHours().add_minutes(jst(2026, 11, 30, 9, 0), 1340)
    assert inquiry.resolution_due_at == expected
    assert SlaMeasurement.objects.filter(inquiry=inquiry, metric=SlaMetric.RESOLUTION).count() == 1
    # And a next-response target for the new message.
    assert inquiry.next_response_due_at is not None


def test_priority_change_recomputes_open_targets_from_their_start():
    inquiry = open_at(jst(2026, 11, 26, 10, 0), priority=Priority.NORMAL)
    inquiry.priority = Priority.URGENT
    inquiry.save(update_fields=["priority"])
    sla.priority_changed(inquiry, jst(2026, 11, 26, 10, 5))
    inquiry.refresh_from_db()
    assert inquiry.first_response_due_at == jst(2026, 11, 26, 10, 30)
    assert measurement(inquiry, SlaMetric.FIRST_RESPONSE).target_minutes == 30


def test_a_custom_pausing_status_pauses_the_clock():
    custom = Status.objects.create(
        key="provider_check", name="出店者確認中", category=StatusCategory.PENDING, pauses_sla=True
    )
    inquiry = open_at(jst(2026, 11, 26, 10, 0))
    desk.set_status(inquiry, custom, at=jst(2026, 11, 26, 10, 5))
    inquiry.refresh_from_db()
    assert sla.badge(inquiry, jst(2026, 11, 26, 11, 0))["state"] == "paused"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 20)),
    target=st.integers(min_value=1, max_value=3000),
)
def test_due_minus_start_is_the_target_in_business_minutes(start, target):
    hours = BusinessHours()
    begin = start.replace(tzinfo=TOKYO, second=0, microsecond=0)
    due = hours.add_minutes(begin, target, closed=set())
    assert hours.minutes_between(begin, due, closed=set()) == target


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.datetimes(min_value=dt.datetime(2026, 11, 2), max_value=dt.datetime(2026, 12, 18)),
    pause_after=st.integers(min_value=0, max_value=600),
    pause_for=st.integers(min_value=0, max_value=4000),
)
def test_open_target_is_due_after_target_plus_paused_business_minutes(start, pause_after, pause_for):
    """Whatever the pause, due − start in business minutes = target + business minutes spent paused."""
    hours = BusinessHours()
    begin = start.replace(tzinfo=TOKYO, second=0, microsecond=0)
    inquiry = open_at(begin, priority=Priority.LOW)  # resolution 2,400 business minutes
    paused_at = begin + dt.timedelta(minutes=pause_after)
    resumed_at = paused_at + dt.timedelta(minutes=pause_for)
    desk.set_status(inquiry, waiting(), at=paused_at)
    desk.set_status(inquiry, desk.status("open"), at=resumed_at)
    resolution = measurement(inquiry, SlaMetric.RESOLUTION)
    paused = hours.minutes_between(paused_at, resumed_at)
    assert hours.minutes_between(begin, resolution.due_at) == resolution.target_minutes + paused
