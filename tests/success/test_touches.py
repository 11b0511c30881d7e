"""Logging touches: what a touch sets going (successor, plan target, renewal stage, next step, audit) and
what it refuses."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from banso.core.calendar import add_business_days, month_start
from banso.core.models import AuditEntry
from banso.success import touches
from banso.success.models import RenewalStage, SuccessSettings, Touch, TouchChannel, TouchOutcome

from ..accounts.factories import AccountFactory, ContactFactory
from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory, RenewalFactory, TouchFactory

pytestmark = pytest.mark.django_db


def log(account, actor, **fields):
    fields.setdefault("channel", TouchChannel.CALL)
    fields.setdefault("outcome", TouchOutcome.CONVERSATION)
    return touches.log_touch(account, actor, **fields)


def test_a_new_successor_becomes_the_primary_contact_and_the_leaver_is_marked_left():
    csm = UserFactory()
    leaver = ContactFactory(is_primary=True, name="山田 太郎")
    touch = log(
        leaver.account,
        csm,
        outcome=TouchOutcome.CONTACT_CHANGED,
        contact=leaver,
        new_successor={"name": "佐々木 花", "email": "sasaki@example.jp"},
    )
    leaver.refresh_from_db()
    assert touch.successor is not None and touch.successor.name == "佐々木 花"
    assert touch.successor.is_primary and touch.successor.email == "sasaki@example.jp"
    assert leaver.left_on == timezone.localdate() and not leaver.is_primary
    assert leaver.current == touch.successor


def test_an_existing_colleague_can_take_over_and_becomes_primary_when_the_leaver_was():
    leaver = ContactFactory(is_primary=True)
    colleague = ContactFactory(account=leaver.account)
    touch = log(leaver.account, None, outcome=TouchOutcome.CONTACT_CHANGED, contact=leaver, successor=colleague)
    colleague.refresh_from_db()
    assert touch.successor == colleague and colleague.is_primary


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"outcome": TouchOutcome.CONTACT_CHANGED}, "successor"),
        ({"outcome": TouchOutcome.CONVERSATION, "new_successor": {"name": "x"}}, "successor"),
        ({"outcome": TouchOutcome.CONTACT_CHANGED, "new_successor": {"email": "a@example.jp"}}, "new_successor_name"),
        (
            {"outcome": TouchOutcome.CONTACT_CHANGED, "new_successor": {"name": "x", "email": "bad"}},
            "new_successor_email",
        ),
        ({"occurred_at": timezone.now() + dt.timedelta(hours=1)}, "occurred_at"),
        ({"next_step": "x", "next_step_due": dt.date(2000, 1, 1)}, "next_step_due"),
        ({"outcome": TouchOutcome.OTHER_DATE}, "next_step_due"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_refused_touches_name_the_field_and_write_nothing(fields, field):
    leaver = ContactFactory(is_primary=True)
    with pytest.raises(ValidationError) as refused:
        log(leaver.account, None, contact=leaver, **fields)
    assert field in refused.value.message_dict
    assert not Touch.objects.exists()
    leaver.refresh_from_db()
    assert leaver.left_on is None and leaver.account.contacts.count() == 1


def test_a_contact_of_another_account_is_refused():
    with pytest.raises(ValidationError) as refused:
        log(AccountFactory(), None, contact=ContactFactory())
    assert "contact" in refused.value.message_dict


def test_the_touch_links_to_the_accounts_target_on_the_plan_of_its_month():
    when = timezone.now()
    target = CoverageTargetFactory(plan=CoveragePlanFactory(month=month_start(timezone.localdate(when))))
    last_month = CoverageTargetFactory(
        plan=CoveragePlanFactory(month=month_start(timezone.localdate(when), -1)), account=target.account
    )
    touch = log(target.account, None, occurred_at=when)
    assert touch.target == target != last_month
    assert log(AccountFactory(), None).target is None


def test_any_touch_marks_the_open_renewal_contacted_and_an_appointment_sets_it():
    renewal = RenewalFactory()
    log(renewal.account, None, outcome=TouchOutcome.NO_REACTION)
    renewal.refresh_from_db()
    assert renewal.stage == RenewalStage.CONTACTED
    log(renewal.account, None, outcome=TouchOutcome.APPOINTMENT)
    renewal.refresh_from_db()
    assert renewal.stage == RenewalStage.APPOINTMENT_SET
    assert AuditEntry.objects.filter(object_type="success.renewal", object_id=str(renewal.pk)).count() == 2


def test_a_touch_never_moves_a_renewal_back_or_reopens_a_closed_one():
    proposal = RenewalFactory(stage=RenewalStage.PROPOSAL)
    churned = RenewalFactory(stage=RenewalStage.CHURNED, account=proposal.account)
    log(proposal.account, None, outcome=TouchOutcome.APPOINTMENT)
    proposal.refresh_from_db()
    churned.refresh_from_db()
    assert (proposal.stage, churned.stage) == (RenewalStage.PROPOSAL, RenewalStage.CHURNED)


def test_a_question_gets_a_next_step_due_the_next_business_day():
    friday = timezone.make_aware(dt.datetime(2026, 4, 3, 10, 0))  # a Friday: next business day is Monday
    touch = log(AccountFactory(), None, outcome=TouchOutcome.QUESTION, occurred_at=friday)
    assert touch.next_step and touch.next_step_due == add_business_days(dt.date(2026, 4, 3), 1) == dt.date(2026, 4, 6)


def test_another_date_requested_follows_up_on_that_date_and_a_given_next_step_is_kept():
    day = timezone.localdate() + dt.timedelta(days=10)
    touch = log(AccountFactory(), None, outcome=TouchOutcome.OTHER_DATE, next_step_due=day)
    assert touch.next_step and touch.next_step_due == day
    own = log(AccountFactory(), None, outcome=TouchOutcome.QUESTION, next_step="資料を送る", next_step_due=day)
    assert (own.next_step, own.next_step_due) == ("資料を送る", day)


def test_logging_writes_an_audit_entry_by_the_actor():
    csm = UserFactory()
    touch = log(AccountFactory(), csm, via="api")
    entry = AuditEntry.objects.get(object_type="success.touch", object_id=str(touch.pk))
    assert (entry.actor, entry.via, entry.changes["outcome"]) == (csm, "api", [None, TouchOutcome.CONVERSATION])
    assert touch.csm == csm


def test_bulk_logs_one_touch_per_account_with_its_primary_contact():
    primary = ContactFactory(is_primary=True)
    other = AccountFactory()
    logged = touches.log_bulk(
        [primary.account, other], None, channel=TouchChannel.EMAIL, outcome=TouchOutcome.NO_REACTION
    )
    assert {t.account for t in logged} == {primary.account, other}
    assert Touch.objects.get(account=primary.account).contact == primary


def test_bulk_is_all_or_nothing_and_names_the_refused_account(monkeypatch):
    good, bad = AccountFactory(name="良い会社"), AccountFactory(name="悪い会社")
    real = touches.log_touch

    def refuse_bad(account, actor, **fields):
        if account == bad:
            raise ValidationError({"note": "refused"})
        return real(account, actor, **fields)

    monkeypatch.setattr(touches, "log_touch", refuse_bad)
    with pytest.raises(touches.BulkTouchError) as refused:
        touches.log_bulk([good, bad], None, channel=TouchChannel.CALL, outcome=TouchOutcome.CONVERSATION)
    assert [a.name for a, _ in refused.value.rows] == ["悪い会社"]
    assert "悪い会社" in refused.value.messages[0]
    assert not Touch.objects.exists()


def test_bulk_refuses_a_change_of_contact_person():
    with pytest.raises(ValidationError) as refused:
        touches.log_bulk([AccountFactory()], None, channel=TouchChannel.CALL, outcome=TouchOutcome.CONTACT_CHANGED)
    assert "outcome" in refused.value.message_dict


def test_completing_a_next_step_marks_it_done_once():
    touch = TouchFactory(next_step="電話する", next_step_due=timezone.localdate())
    done = touches.complete_next_step(touch, None)
    again = touches.complete_next_step(touch, None)
    assert done.next_step_done_at is not None and again.next_step_done_at == done.next_step_done_at
    with pytest.raises(ValidationError):
        touches.complete_next_step(TouchFactory(), None)


@pytest.mark.parametrize(
    ("tier", "days_ago", "breached"),
    [("high", 31, True), ("high", 30, False), ("low", 60, False), ("low", 91, True), ("tech", 400, False)],
)
def test_the_tier_decides_how_long_an_account_may_go_untouched(tier, days_ago, breached):
    SuccessSettings.current()
    account = AccountFactory(tier=tier)
    TouchFactory(account=account, occurred_at=timezone.now() - dt.timedelta(days=days_ago))
    assert touches.contact_rule(account).breached is breached


def test_a_never_touched_account_breaches_its_rule():
    rule = touches.contact_rule(AccountFactory(tier="high"))
    assert rule.breached and rule.days_since is None
