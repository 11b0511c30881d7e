"""The generic event trigger: any app's event of the named kind starts a playbook once per event."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from banso.playbooks.models import PlaybookRun, TriggerKind
from banso.playbooks.triggers import evaluate
from banso.playbooks.triggers_kinds import validate_params

from ..accounts.factories import AccountFactory
from ..analytics.factories import add_events
from .factories import PlaybookFactory
from .factories_triggers import NOW

pytestmark = pytest.mark.django_db


def fire(pb, now=NOW):
    result = evaluate(now=now, playbooks=[pb])
    assert not result.failed, result.failed
    return {(r.account.name, r.cause) for r in PlaybookRun.objects.filter(playbook=pb).select_related("account")}


def test_event_fires_once_per_event_of_the_kind_within_the_window():
    a, b = AccountFactory(name="A"), AccountFactory(name="B")
    recent = NOW - dt.timedelta(hours=2)
    add_events(
        (a, "funnel_stale", recent),
        (b, "funnel_stale", NOW - dt.timedelta(hours=30)),  # older than the 1-day window
        (b, "login", recent),  # another kind
    )
    pb = PlaybookFactory(trigger=TriggerKind.EVENT, trigger_params={"event_kind": "funnel_stale"})
    expected = {("A", f"event:funnel_stale:{a.pk}:{recent.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z")}
    assert fire(pb) == expected
    assert fire(pb, NOW + dt.timedelta(hours=1)) == expected  # the same event does not start a second run
    run = PlaybookRun.objects.get(playbook=pb)
    assert run.context["event_kind"] == "funnel_stale"


def test_event_within_days_widens_the_window():
    a = AccountFactory(name="A")
    add_events((a, "funnel_stale", NOW - dt.timedelta(days=2)))
    pb = PlaybookFactory(trigger=TriggerKind.EVENT, trigger_params={"event_kind": "funnel_stale", "within_days": 3})
    assert [name for name, _cause in fire(pb)] == ["A"]


def test_event_kind_is_required():
    with pytest.raises(ValidationError) as error:
        validate_params(TriggerKind.EVENT, {})
    assert "trigger_params.event_kind" in error.value.message_dict
    assert validate_params(TriggerKind.EVENT, {"event_kind": "x"}) == {"event_kind": "x", "within_days": 1}
