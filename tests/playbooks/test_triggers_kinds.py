"""Each trigger kind fires exactly when hand-built data says so, once per cause, and respects the cool-down."""

import datetime as dt

import pytest

from banso.playbooks import triggers
from banso.playbooks.models import PlaybookRun, PlaybookRunStatus, TriggerKind
from banso.playbooks.triggers import evaluate, register_start_hook

from ..accounts.factories import AccountFactory, ContactFactory
from ..analytics.factories import SegmentFactory, add_events
from ..success.factories import TouchFactory
from .factories import PlaybookFactory, StepFactory
from .factories_triggers import NOW, TODAY, at, days_ago, nps_answer, risk, risk_model, snapshot, stay

pytestmark = pytest.mark.django_db


def playbook(trigger, params, **kwargs):
    return PlaybookFactory(trigger=trigger, trigger_params=params, **kwargs)


def fire(pb, now=NOW):
    result = evaluate(now=now, playbooks=[pb])
    assert not result.failed, result.failed
    return {(r.account.name, r.cause) for r in PlaybookRun.objects.filter(playbook=pb).select_related("account")}


def named(name, **kwargs):
    return AccountFactory(name=name, **kwargs)


def test_health_band_fires_on_a_change_into_the_band_not_when_it_stays():
    went_red, stayed_red, went_yellow, new = named("A"), named("B"), named("C"), named("D")
    for account, before, after in [
        (went_red, "green", "red"),
        (stayed_red, "red", "red"),
        (went_yellow, "green", "yellow"),
    ]:
        snapshot(account, days_ago(1), before)
        snapshot(account, TODAY, after)
    snapshot(new, TODAY, "red")  # no previous snapshot: no change to speak of
    pb = playbook(TriggerKind.HEALTH_BAND, {"to_bands": ["red"]})
    assert fire(pb) == {("A", f"health_band:red:{TODAY}")}
    run = PlaybookRun.objects.get(playbook=pb)
    assert run.context == {"band": "red", "previous_band": "green", "day": str(TODAY)}
    assert run.status == PlaybookRunStatus.ACTIVE and run.next_position == 1


def test_health_band_from_bands_narrows_where_it_came_from():
    from_yellow, from_green = named("A"), named("B")
    for account, before in [(from_yellow, "yellow"), (from_green, "green")]:
        snapshot(account, days_ago(1), before)
        snapshot(account, TODAY, "red")
    assert fire(playbook(TriggerKind.HEALTH_BAND, {"to_bands": ["red"], "from_bands": ["yellow"]})) == {
        ("A", f"health_band:red:{TODAY}")
    }


def test_risk_fires_on_crossing_upward_only():
    model = risk_model()
    crossed, above, below, exact = named("A"), named("B"), named("C"), named("D")
    for account, before, now in [(crossed, 0.4, 0.7), (above, 0.7, 0.8), (below, 0.2, 0.5), (exact, 0.59, 0.6)]:
        risk(account, model, days_ago(7), before)
        risk(account, model, TODAY, now)
    assert fire(playbook(TriggerKind.RISK_THRESHOLD, {"threshold": 0.6})) == {
        ("A", f"risk:{TODAY}"),
        ("D", f"risk:{TODAY}"),
    }


@pytest.mark.parametrize(("days_out", "fires"), [(30, True), (28, True), (27, False), (31, False)])
def test_renewal_due_fires_at_n_days_and_within_the_late_window(days_out, fires):
    renewal = TODAY + dt.timedelta(days=days_out)
    named("A", next_renewal_date=renewal)
    pb = playbook(TriggerKind.RENEWAL_DUE, {"days": 30, "window": 2})
    assert fire(pb) == ({("A", f"renewal:{renewal}")} if fires else set())


def test_no_touch_counts_whole_days_from_the_last_touch_or_creation():
    exactly, almost, never, new = named("A"), named("B"), named("C"), named("D")
    TouchFactory(account=exactly, occurred_at=at(days_ago(30), 23))
    TouchFactory(account=exactly, occurred_at=at(days_ago(40)))
    TouchFactory(account=almost, occurred_at=at(days_ago(29), 0))
    never.created_at = at(days_ago(100))
    never.save()
    new.created_at = at(days_ago(10))
    new.save()
    assert fire(playbook(TriggerKind.NO_TOUCH, {"days": 30})) == {
        ("A", f"no_touch:{days_ago(30)}"),
        ("C", "no_touch:never"),
    }


def test_survey_detractor_fires_once_per_answer_of_six_or_less_within_the_window():
    a, b, c = named("A"), named("B"), named("C")
    low = nps_answer(a, 6, at(days_ago(2)))
    nps_answer(b, 7, at(days_ago(1)))
    nps_answer(c, 2, at(days_ago(8)))
    assert fire(playbook(TriggerKind.SURVEY_DETRACTOR, {})) == {("A", f"survey:{low.pk}")}


def test_inquiry_spike_needs_the_count_and_the_ratio_to_the_usual_weeks():
    spiking, usual, few = named("A"), named("B"), named("C")
    # A: 4 this week, 1 a week before → spike. B: 4 this week, 4 a week for 8 weeks → its normal. C: 2 only.
    events = [(spiking, "inquiry_opened", at(days_ago(d))) for d in (0, 1, 2, 3)]
    events += [(spiking, "inquiry_opened", at(days_ago(20)))]
    events += [(usual, "inquiry_opened", at(days_ago(d))) for d in range(0, 63, 2)]
    events += [(few, "inquiry_opened", at(days_ago(d))) for d in (0, 1)]
    add_events(*events)
    year, week, _ = TODAY.isocalendar()
    pb = playbook(TriggerKind.INQUIRY_SPIKE, {"min_count": 3, "ratio": 2})
    assert fire(pb) == {("A", f"inquiry_spike:{year}-W{week:02d}")}


def test_sla_breach_fires_per_breach_event_of_the_last_day():
    a, b = named("A"), named("B")
    add_events((a, "sla_breach", NOW - dt.timedelta(hours=3)), (b, "sla_breach", NOW - dt.timedelta(hours=30)))
    causes = fire(playbook(TriggerKind.SLA_BREACH, {}))
    assert [name for name, _cause in causes] == ["A"]
    assert next(iter(causes))[1].startswith("sla:")


def test_contact_changed_fires_for_a_contact_who_left_within_the_window():
    a, b = named("A"), named("B")
    left = ContactFactory(account=a, left_on=days_ago(6))
    ContactFactory(account=b, left_on=days_ago(7))
    ContactFactory(account=b)
    assert fire(playbook(TriggerKind.CONTACT_CHANGED, {})) == {("A", f"contact:{left.pk}")}


def test_segment_entered_and_left_fire_on_the_membership_change():
    segment = SegmentFactory()
    entered, left, old = named("A"), named("B"), named("C")
    stay(segment.pk, entered, at(days_ago(1)))
    stay(segment.pk, left, at(days_ago(30)), at(days_ago(2)))
    stay(segment.pk, old, at(days_ago(30)))
    assert fire(playbook(TriggerKind.SEGMENT_ENTERED, {"segment_id": segment.pk})) == {
        ("A", f"segment_in:{segment.pk}:{days_ago(1)}")
    }
    assert fire(playbook(TriggerKind.SEGMENT_LEFT, {"segment_id": segment.pk})) == {
        ("B", f"segment_out:{segment.pk}:{days_ago(2)}")
    }


def test_date_reached_reads_a_custom_attribute_with_an_offset():
    named("A", attributes={"trial_end": str(TODAY + dt.timedelta(days=7))})
    named("B", attributes={"trial_end": str(TODAY + dt.timedelta(days=8))})
    named("C", attributes={"trial_end": "not a date"})
    named("D", attributes={"trial_end": str(TODAY + dt.timedelta(days=5))})  # 2 days late: still in the window
    named("E", attributes={"trial_end": str(TODAY + dt.timedelta(days=3))})  # 4 days late: gone
    pb = playbook(TriggerKind.DATE_REACHED, {"attribute": "trial_end", "offset_days": -7})
    assert fire(pb) == {
        ("A", f"date:trial_end:{TODAY + dt.timedelta(days=7)}"),
        ("D", f"date:trial_end:{TODAY + dt.timedelta(days=5)}"),
    }


def test_date_reached_reads_a_column():
    named("A", next_renewal_date=TODAY + dt.timedelta(days=10))
    named("B", next_renewal_date=TODAY + dt.timedelta(days=11))
    pb = playbook(TriggerKind.DATE_REACHED, {"attribute": "next_renewal_date", "offset_days": -10, "window": 0})
    assert fire(pb) == {("A", f"date:next_renewal_date:{TODAY + dt.timedelta(days=10)}")}


# Once per cause, cool-down ------------------------------------------------------------------------------


def test_evaluating_twice_starts_nothing_new_even_after_the_cool_down():
    account = named("A", next_renewal_date=TODAY + dt.timedelta(days=30))
    pb = playbook(TriggerKind.RENEWAL_DUE, {"days": 30}, cooldown_days=0)
    first = evaluate(now=NOW, playbooks=[pb])
    PlaybookRun.objects.filter(playbook=pb).update(status=PlaybookRunStatus.COMPLETED)
    second = evaluate(now=NOW + dt.timedelta(hours=1), playbooks=[pb])
    assert (first.runs_started, second.runs_started) == (1, 0)
    assert PlaybookRun.objects.filter(playbook=pb, account=account).count() == 1


def test_cool_down_keeps_a_new_cause_away_until_it_has_passed():
    account = named("A")
    pb = playbook(TriggerKind.CONTACT_CHANGED, {}, cooldown_days=30)
    PlaybookRun.objects.create(
        playbook=pb,
        account=account,
        cause="contact:0",
        status=PlaybookRunStatus.COMPLETED,
        started_at=NOW - dt.timedelta(days=29),
    )
    ContactFactory(account=account, left_on=TODAY)
    assert evaluate(now=NOW, playbooks=[pb]).runs_started == 0
    PlaybookRun.objects.filter(playbook=pb).update(started_at=NOW - dt.timedelta(days=30, minutes=1))
    assert evaluate(now=NOW, playbooks=[pb]).runs_started == 1


def test_an_active_run_blocks_a_new_start_whatever_the_cool_down():
    account = named("A")
    pb = playbook(TriggerKind.CONTACT_CHANGED, {}, cooldown_days=0)
    PlaybookRun.objects.create(playbook=pb, account=account, cause="contact:0", started_at=NOW - dt.timedelta(days=90))
    ContactFactory(account=account, left_on=TODAY)
    assert evaluate(now=NOW, playbooks=[pb]).runs_started == 0


def test_runs_wait_for_the_first_step_and_start_hooks_see_them(monkeypatch):
    monkeypatch.setattr(triggers, "_START_HOOKS", [])
    account = named("A")
    pb = playbook(TriggerKind.CONTACT_CHANGED, {})
    StepFactory(playbook=pb, position=2, wait_days=3, business_days=False)
    ContactFactory(account=account, left_on=TODAY)
    seen = []
    register_start_hook(lambda playbook, runs, now: seen.extend(runs.values_list("account_id", flat=True)))
    evaluate(now=NOW, playbooks=[pb])
    run = PlaybookRun.objects.get(playbook=pb)
    assert (run.next_position, run.next_due_at, run.started_at) == (2, NOW + dt.timedelta(days=3), NOW)
    assert seen == [account.pk]


def test_manual_and_inactive_playbooks_are_not_evaluated_and_broken_settings_are_reported():
    named("A", next_renewal_date=TODAY + dt.timedelta(days=30))
    playbook(TriggerKind.RENEWAL_DUE, {"days": 30}, is_active=False)
    playbook(TriggerKind.MANUAL, {})
    broken = playbook(TriggerKind.RENEWAL_DUE, {"days": "soon"})
    working = playbook(TriggerKind.RENEWAL_DUE, {"days": 30})
    result = evaluate(now=NOW)
    assert [p.playbook_id for p in result.playbooks] == [broken.pk, working.pk]
    assert "trigger_params.days" in result.failed[0].error
    assert result.runs_started == 1 and PlaybookRun.objects.get().playbook == working
