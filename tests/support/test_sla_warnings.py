"""Breach marking and warnings (the scheduler's minute job), the inbox's badge and its about-to-breach /
breached filters on the indexed due column, and the conversation page's SLA panel."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string

from banso.core.schedule import scheduled_jobs
from banso.playbooks.models import OutboxMessage
from banso.support import desk, sla
from banso.support.models import Inquiry, Priority, SlaMeasurement, SlaMetric, SupportSettings

from .factories import AgentFactory

TOKYO = ZoneInfo("Asia/Tokyo")
pytestmark = pytest.mark.django_db


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def assigned():
    """An urgent inquiry opened Thursday 10:00 (first response due 10:30), assigned to an agent with mail."""
    agent = AgentFactory(email="tanaka@example.jp")
    inquiry = desk.open_inquiry(
        channel="email",
        subject="返金について",
        body="返金してください。",
        priority=Priority.URGENT,
        at=jst(2026, 11, 26, 10, 0),
    )
    Inquiry.objects.filter(pk=inquiry.pk).update(assignee=agent)
    inquiry.refresh_from_db()
    return inquiry, agent


def test_warning_is_sent_once_when_a_target_enters_the_window(assigned):
    inquiry, _agent = assigned
    assert sla.check_breaches(jst(2026, 11, 26, 9, 50)) == (0, 0)  # 40 minutes before: not yet
    assert sla.check_breaches(jst(2026, 11, 26, 10, 5)) == (0, 1)
    assert sla.check_breaches(jst(2026, 11, 26, 10, 10)) == (0, 0)
    mails = OutboxMessage.objects.filter(source="support.sla")
    assert [m.to_email for m in mails] == ["tanaka@example.jp"]
    assert f"#{inquiry.number}" in mails[0].subject
    first = SlaMeasurement.objects.get(inquiry=inquiry, metric=SlaMetric.FIRST_RESPONSE)
    assert first.warned_at == jst(2026, 11, 26, 10, 5)


def test_target_past_due_is_marked_breached_with_its_assignee(assigned):
    inquiry, agent = assigned
    breached, _warned = sla.check_breaches(jst(2026, 11, 26, 10, 31))
    assert breached == 1
    first = SlaMeasurement.objects.get(inquiry=inquiry, metric=SlaMetric.FIRST_RESPONSE)
    assert first.breached and first.assignee == agent and first.achieved_at is None
    assert sla.check_breaches(jst(2026, 11, 26, 10, 32))[0] == 0


def test_paused_inquiry_is_neither_warned_nor_breached(assigned):
    inquiry, _agent = assigned
    desk.set_status(inquiry, desk.status("waiting_customer"), at=jst(2026, 11, 26, 10, 1))
    assert sla.check_breaches(jst(2026, 11, 26, 11, 0)) == (0, 0)


def test_the_minute_job_is_registered_and_idle_without_work(db):
    job = next(j for j in scheduled_jobs() if j.name == "support.sla_breaches")
    assert job.due(jst(2026, 11, 26, 10, 0)) is None


def test_the_minute_job_queues_the_check_once(assigned):
    from django_tasks_db.models import DBTaskResult

    job = next(j for j in scheduled_jobs() if j.name == "support.sla_breaches")
    now = jst(2026, 11, 26, 10, 40)
    assert job.due(now) is not None
    assert job.due(now) is None  # one is queued already
    assert DBTaskResult.objects.filter(task_path="banso.support.sla_tasks.check_sla_breaches").count() == 1


def test_badge_states_follow_the_due_time(assigned):
    inquiry, agent = assigned
    assert sla.badge(inquiry, jst(2026, 11, 26, 9, 55))["state"] == "ok"
    assert sla.badge(inquiry, jst(2026, 11, 26, 10, 10))["state"] == "warning"
    assert sla.badge(inquiry, jst(2026, 11, 26, 10, 30))["state"] == "breached"
    desk.reply(inquiry, agent, "確認いたします。", new_status=desk.status("solved"), at=jst(2026, 11, 26, 10, 20))
    inquiry.refresh_from_db()
    assert sla.badge(inquiry, jst(2026, 11, 26, 10, 40))["state"] == "met"


def test_warning_window_follows_the_desk_setting(assigned):
    inquiry, _agent = assigned
    now = jst(2026, 11, 26, 9, 50)
    assert sla.badge(inquiry, now)["state"] == "ok"
    from banso.support import sla_settings

    sla_settings.save_warn_before("60", actor=None)
    assert SupportSettings.objects.get(pk=1).warn_before_minutes == 60
    assert sla.badge(inquiry, now)["state"] == "warning"


def test_filters_find_about_to_breach_and_breached(assigned):
    inquiry, _agent = assigned
    now = jst(2026, 11, 26, 10, 10)
    assert list(Inquiry.objects.filter(sla.about_to_breach_q(now))) == [inquiry]
    assert not Inquiry.objects.filter(sla.breached_q(now)).exists()
    later = jst(2026, 11, 26, 10, 45)
    assert list(Inquiry.objects.filter(sla.breached_q(later))) == [inquiry]
    assert not Inquiry.objects.filter(sla.about_to_breach_q(later)).exists()


def test_about_to_breach_window_counts_business_minutes():
    # Due Friday 9:10; at Thursday 17:50 that is 20 business minutes away: inside a 30-minute window.
    inquiry = desk.open_inquiry(
        channel="chat",
        subject="至急",
        body="至急確認してください。",
        priority=Priority.URGENT,
        at=jst(2026, 11, 26, 17, 40),
    )
    inquiry.refresh_from_db()
    assert inquiry.sla_next_due_at == jst(2026, 11, 27, 9, 10)
    assert Inquiry.objects.filter(sla.about_to_breach_q(jst(2026, 11, 26, 17, 50))).exists()


def test_filters_are_plain_comparisons_on_the_indexed_column():
    now = jst(2026, 11, 26, 10, 0)
    sql = str(Inquiry.objects.filter(sla.about_to_breach_q(now)).only("id").query)
    assert "sla_next_due_at" in sql and "JOIN" not in sql.upper()


def test_side_panel_lists_every_target(assigned):
    inquiry, agent = assigned
    desk.reply(inquiry, agent, "確認いたします。", at=jst(2026, 11, 26, 10, 20))
    rows = sla.panel(inquiry, jst(2026, 11, 26, 10, 25))
    assert [(r["metric"], r["state"]) for r in rows] == [("first_response", "met"), ("resolution", "ok")]
    html = render_to_string("support/_sla_panel.html", {"inquiry": inquiry, "sla": rows})
    assert 'data-state="met"' in html and 'data-state="ok"' in html


def test_cli_check_and_defaults(db):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("support", "sla-defaults", stdout=out)
    call_command("support", "sla-check", stdout=out)
    assert "default policies created" in out.getvalue() and "warnings sent" in out.getvalue()


def test_the_queued_task_runs_the_check(assigned):
    from banso.support.sla_tasks import check_sla_breaches

    assert "breached" in check_sla_breaches.call()
