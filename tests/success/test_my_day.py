"""My day: what lands in a CSM's queue, and who sees whose."""

import datetime as dt

import pytest
from django.utils import timezone

from banso.accounts.choices import LifecycleStage
from banso.core.calendar import month_start
from banso.core.choices import Role
from banso.success import queue

from ..accounts.factories import AccountFactory, ContactFactory
from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory, TouchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


def _target(csm, today, planned_on, **kwargs):
    plan = CoveragePlanFactory(month=month_start(today))
    return CoverageTargetFactory(plan=plan, assignee=csm, planned_on=planned_on, **kwargs)


def test_planned_contacts_are_the_csms_targets_due_by_today_and_not_yet_touched_this_month(today):
    csm = UserFactory()
    due = _target(csm, today, month_start(today))
    if month_start(today, 1) - today > dt.timedelta(days=1):
        _target(csm, today, today + dt.timedelta(days=1))  # later this month
    touched = _target(csm, today, today)
    TouchFactory(account=touched.account, occurred_at=timezone.now())
    _target(UserFactory(), today, today)  # someone else's
    assert list(queue.planned(csm, today)) == [due]


def test_follow_ups_are_the_csms_open_next_steps_due_by_today(today):
    csm = UserFactory()
    overdue = TouchFactory(csm=csm, next_step="電話", next_step_due=today - dt.timedelta(days=2))
    due_today = TouchFactory(csm=csm, next_step="資料", next_step_due=today)
    TouchFactory(csm=csm, next_step="後日", next_step_due=today + dt.timedelta(days=1))
    TouchFactory(csm=csm, next_step="済", next_step_due=today, next_step_done_at=timezone.now())
    TouchFactory(next_step="他人", next_step_due=today)
    assert list(queue.follow_ups(csm, today)) == [overdue, due_today]


def test_frequency_breaches_follow_each_tiers_rule_and_never_touched_counts(today):
    csm = UserFactory()
    now = timezone.now()
    high_late = AccountFactory(owner=csm, tier="high")
    TouchFactory(account=high_late, occurred_at=now - dt.timedelta(days=31))
    high_ok = AccountFactory(owner=csm, tier="high")
    TouchFactory(account=high_ok, occurred_at=now - dt.timedelta(days=29))
    low_ok = AccountFactory(owner=csm, tier="low")
    TouchFactory(account=low_ok, occurred_at=now - dt.timedelta(days=60))
    low_late = AccountFactory(owner=csm, tier="low")
    TouchFactory(account=low_late, occurred_at=now - dt.timedelta(days=95))
    never = AccountFactory(owner=csm, tier="low")
    AccountFactory(owner=csm, tier="tech")  # no rule for tech touch
    AccountFactory(owner=csm, tier="high", lifecycle_stage=LifecycleStage.CHURNED)
    AccountFactory(owner=UserFactory(), tier="high")
    assert list(queue.breaching(csm, today)) == [never, low_late, high_late]


def test_the_team_view_counts_each_csms_queue(today):
    busy, idle = UserFactory(display_name="忙しい"), UserFactory(display_name="暇")
    _target(busy, today, month_start(today))
    TouchFactory(csm=busy, next_step="x", next_step_due=today - dt.timedelta(days=1))
    AccountFactory(owner=busy, tier="high")
    manager, owning_manager = UserFactory(role=Role.OPS_MANAGER), UserFactory(role=Role.OPS_MANAGER)
    AccountFactory(owner=owning_manager, tier="high")
    lines = {line.user: line for line in queue.team(today)}
    assert (lines[busy].planned, lines[busy].follow_ups, lines[busy].overdue, lines[busy].breaching) == (1, 1, 1, 1)
    assert lines[idle].total == 0  # every CSM is listed, even with nothing to do
    # Other people only when their queue holds something (a manager who owns an account past its rule).
    assert manager not in lines and lines[owning_manager].breaching == 1


def test_a_csm_sees_their_own_queue_even_when_asking_for_someone_elses(client_as, user_with_role, today):
    csm_client = client_as(Role.CSM)
    other = user_with_role(Role.CSM)
    AccountFactory(owner=other, tier="high", name="他人の顧客")
    response = csm_client.get(f"/success/my-day/?csm={other.pk}")
    assert response.status_code == 200 and "他人の顧客" not in response.content.decode()
    assert csm_client.get("/success/my-day/?csm=team").context.get("team") is None


def test_a_manager_picks_a_csm_or_sees_the_team(client_as, user_with_role, today):
    manager = client_as(Role.OPS_MANAGER)
    csm = user_with_role(Role.CSM, display_name="山本")
    ContactFactory(account=AccountFactory(owner=csm, tier="high", name="山本の顧客"), is_primary=True)
    page = manager.get(f"/success/my-day/?csm={csm.pk}").content.decode()
    assert "山本の顧客" in page and 'name="contact"' in page  # one-click form with the primary contact
    team = manager.get("/success/my-day/?csm=team")
    assert any(line.user == csm and line.breaching == 1 for line in team.context["team"])


def test_one_click_logging_replaces_the_row_and_takes_the_account_off_the_queue(client, user_with_role, today):
    csm = user_with_role(Role.CSM)
    client.force_login(csm)
    account = AccountFactory(tier="high", owner=csm)
    assert account in queue.breaching(csm, today)
    contact = ContactFactory(account=account, is_primary=True)
    response = client.post(
        "/success/touches/quick/",
        {"account": account.pk, "contact": contact.pk, "channel": "call", "outcome": "conversation"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "logged" in response.content.decode()
    assert account.touches.get().contact == contact
    assert account not in queue.breaching(csm, today)


def test_index_leads_to_my_day(client_as):
    response = client_as(Role.CSM).get("/success/")
    assert response.status_code == 302 and response.url == "/success/my-day/"
