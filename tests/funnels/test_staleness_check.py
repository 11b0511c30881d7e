"""Staleness trackers: days since the latest application, report or touch per tier, alerts, their tasks and
the "funnel_stale" event playbooks react to."""

import datetime as dt

import pytest

from banso.activity.models import Event
from banso.core.choices import Role
from banso.funnels import staleness
from banso.funnels.models import ClientReport, StalenessAlert, StalenessMeasure, StalenessRule
from banso.playbooks.models import PlaybookRun, Task, TriggerKind
from banso.playbooks.triggers import evaluate

from ..accounts.factories import AccountFactory
from ..core.factories import UserFactory
from ..playbooks.factories import PlaybookFactory
from ..success.factories import TouchFactory
from .factories import APPLICATION, FunnelFactory, add_funnel_events, at, funnel_event

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)  # a Friday
NOW = at(TODAY, 7, 30)


def client(name, tier="high", owner=None, created=TODAY - dt.timedelta(days=400)):
    return AccountFactory(name=name, kind="client", tier=tier, owner=owner, created_at=at(created))


def stage_rule(thresholds, **kwargs):
    stage = FunnelFactory().stages.get(event_kind=APPLICATION)
    return StalenessRule.objects.create(
        name="最新応募からの経過日数",
        measure=StalenessMeasure.DAYS_SINCE_STAGE,
        stage=stage,
        thresholds=thresholds,
        **kwargs,
    )


def applied(account, days_ago, hour=10):
    add_funnel_events(funnel_event(account, APPLICATION, at(TODAY - dt.timedelta(days=days_ago), hour)))


def open_alerts(rule):
    return {a.account.name: a.days for a in StalenessAlert.objects.filter(rule=rule, resolved_at=None)}


def test_measure_counts_calendar_days_in_japan_and_never_from_creation():
    a, b = client("A"), client("B", created=TODAY - dt.timedelta(days=3))
    AccountFactory(name="customer")  # not a client: not measured
    applied(a, 5, hour=0)  # 00:00 Japan is the day before in UTC: still 5 days
    rule = stage_rule({"high": 7})
    frame = staleness.measure_all(rule, TODAY).sort("account_id")
    assert frame.to_dicts() == [
        {"account_id": a.pk, "last_on": TODAY - dt.timedelta(days=5), "days": 5, "never": False},
        {"account_id": b.pk, "last_on": TODAY - dt.timedelta(days=3), "days": 3, "never": True},
    ]


def test_exactly_the_threshold_alerts_one_day_less_does_not():
    at_limit, below = client("at"), client("below")
    applied(at_limit, 7)
    applied(below, 6)
    rule = stage_rule({"high": 7})
    staleness.check(TODAY, NOW)
    assert open_alerts(rule) == {"at": 7}


def test_thresholds_are_per_tier_and_a_tier_without_one_is_not_watched():
    high, low, tech = client("high", "high"), client("low", "low"), client("tech", "tech")
    for account in (high, low, tech):
        applied(account, 10)
    rule = stage_rule({"high": 7, "low": 14})
    staleness.check(TODAY, NOW)
    assert open_alerts(rule) == {"high": 10}


def test_never_applied_counts_from_creation():
    client("new", created=TODAY - dt.timedelta(days=6))
    client("old", created=TODAY - dt.timedelta(days=8))
    rule = stage_rule({"high": 7})
    staleness.check(TODAY, NOW)
    assert open_alerts(rule) == {"old": 8}


def test_new_alert_puts_one_task_in_the_owners_queue_and_a_second_check_changes_nothing():
    owner = UserFactory(role=Role.CSM)
    account = client("株式会社A", owner=owner)
    applied(account, 9)
    rule = stage_rule({"high": 7})
    first = staleness.check(TODAY, NOW)
    assert (first["raised"], first["tasks"]) == (1, 1)
    alert = StalenessAlert.objects.get(rule=rule)
    task = Task.objects.get(pk=alert.task_id)
    assert (task.owner, task.account, task.due_on) == (owner, account, dt.date(2026, 11, 24))  # Mon 23rd: holiday
    # Japanese once the lead merges /tmp/ja_staleness.json: 【要対応】株式会社A: 最新応募から9日
    assert "株式会社A" in task.title and "9" in task.title and "応募" in task.title
    assert "最新応募からの経過日数" in task.intent
    again = staleness.check(TODAY, NOW + dt.timedelta(hours=1))
    assert again == {"rules": 1, "raised": 0, "updated": 0, "resolved": 0, "tasks": 0}
    # The next day the open alert's days move on, still with its one task.
    staleness.check(TODAY + dt.timedelta(days=1), NOW + dt.timedelta(days=1))
    assert open_alerts(rule) == {"株式会社A": 10}
    assert Task.objects.count() == 1 and StalenessAlert.objects.count() == 1
    assert Event.objects.filter(kind="funnel_stale", account=account).count() == 1


def test_a_new_application_resolves_the_alert_and_a_later_lapse_raises_a_new_one():
    account = client("A")
    applied(account, 9)
    rule = stage_rule({"high": 7})
    staleness.check(TODAY, NOW)
    applied(account, 0)
    assert staleness.check(TODAY, NOW)["resolved"] == 1
    assert open_alerts(rule) == {}
    later = TODAY + dt.timedelta(days=7)
    staleness.check(later, at(later, 7, 30))
    assert open_alerts(rule) == {"A": 7}
    assert StalenessAlert.objects.filter(rule=rule).count() == 2


def test_report_and_touch_measures_resolve_when_a_report_is_sent_or_a_touch_logged():
    account = client("A")
    funnel = FunnelFactory()
    report = StalenessRule.objects.create(
        name="報告", measure=StalenessMeasure.DAYS_SINCE_REPORT, thresholds={"high": 30}
    )
    touch = StalenessRule.objects.create(
        name="接点", measure=StalenessMeasure.DAYS_SINCE_TOUCH, thresholds={"high": 14}
    )
    ClientReport.objects.create(
        account=account, funnel=funnel, period_start=TODAY, period_end=TODAY, sent_at=at(TODAY - dt.timedelta(days=31))
    )
    TouchFactory(account=account, occurred_at=at(TODAY - dt.timedelta(days=20)))
    staleness.check(TODAY, NOW)
    assert (open_alerts(report), open_alerts(touch)) == ({"A": 31}, {"A": 20})
    ClientReport.objects.create(
        account=account, funnel=funnel, period_start=TODAY, period_end=TODAY, sent_at=at(TODAY, 6)
    )
    TouchFactory(account=account, occurred_at=at(TODAY, 6))
    assert staleness.check(TODAY, NOW)["resolved"] == 2


def test_the_stale_event_starts_an_event_playbook_once_per_alert():
    account = client("A")
    applied(account, 9)
    stage_rule({"high": 7})
    pb = PlaybookFactory(trigger=TriggerKind.EVENT, trigger_params={"event_kind": "funnel_stale"})
    staleness.check(TODAY, NOW)
    for hours in (1, 2):
        assert not evaluate(now=NOW + dt.timedelta(hours=hours), playbooks=[pb]).failed
    staleness.check(TODAY + dt.timedelta(days=1), NOW + dt.timedelta(days=1))  # still open: no new event
    assert not evaluate(now=NOW + dt.timedelta(days=1, hours=1), playbooks=[pb]).failed
    run = PlaybookRun.objects.get(playbook=pb)
    assert run.account == account and run.cause.startswith(f"event:funnel_stale:{account.pk}:")
    event = Event.objects.get(kind="funnel_stale")
    assert event.properties == {"rule": StalenessRule.objects.get().pk, "days": 9}


def test_scheduled_job_checks_from_0730_once_a_day_weekends_too():
    client("A", created=TODAY - dt.timedelta(days=30))
    stage_rule({"high": 7})
    saturday = dt.date(2026, 11, 21)
    assert staleness.due(at(saturday, 7, 0)) is None
    assert "1 raised" in staleness.due(at(saturday, 7, 31))
    assert staleness.due(at(saturday, 9, 0)) is None
    assert StalenessAlert.objects.count() == 1


def test_cli_checks_the_given_day():
    from io import StringIO

    from django.core.management import call_command

    client("A", created=TODAY - dt.timedelta(days=7))
    rule = stage_rule({"high": 7})
    out = StringIO()
    call_command("funnels", "staleness", "--date", str(TODAY - dt.timedelta(days=1)), stdout=out)
    assert "raised 0" in out.getvalue() and open_alerts(rule) == {}
    call_command("funnels", "staleness", "--date", str(TODAY), stdout=out)
    assert "raised 1" in out.getvalue() and open_alerts(rule) == {"A": 7}


def test_switching_a_tracker_off_resolves_its_alerts():
    client("A", created=TODAY - dt.timedelta(days=30))
    rule = stage_rule({"high": 7})
    staleness.check(TODAY, NOW)
    rule.is_active = False
    rule.save()
    assert staleness.check(TODAY, NOW)["resolved"] == 1
    assert open_alerts(rule) == {}


def test_account_card_shows_days_threshold_and_the_open_alerts_task():
    owner = UserFactory(role=Role.CSM)
    account = client("A", owner=owner)
    applied(account, 9)
    stage_rule({"high": 7})
    staleness.check(TODAY, NOW)
    [row] = staleness.account_card(account, TODAY)["rows"]
    assert (row["days"], row["threshold"], row["never"]) == (9, 7, False)
    assert row["alert"].task_id == Task.objects.get().pk
