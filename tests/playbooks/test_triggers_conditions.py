"""Conditions on the account (each operator, custom attributes, tags), settings and conditions refused naming
the part at fault, and the manual start with its cool-down."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from banso.accounts.models import Account
from banso.playbooks.models import AccountTag, PlaybookRun, PlaybookRunStatus, TriggerKind
from banso.playbooks.triggers import (
    condition_fields,
    start_manually,
    validate_conditions,
    validate_params,
)
from banso.playbooks.triggers_conditions import conditions_q

from ..accounts.factories import AccountFactory
from ..analytics.factories import SegmentFactory
from ..core.factories import UserFactory
from .factories import PlaybookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    a = AccountFactory(name="A", tier="high", industry="製造業", mrr=100_000, attributes={"seats": 50, "plan": "Pro"})
    b = AccountFactory(name="B", tier="low", industry="小売", mrr=20_000, attributes={"seats": 5})
    c = AccountFactory(name="C", tier="tech", industry="", mrr=0, next_renewal_date=dt.date(2027, 1, 1))
    AccountTag.objects.create(account=a, name="vip")
    AccountTag.objects.create(account=b, name="trial")
    return a, b, c


def matching(*conditions):
    q = conditions_q(validate_conditions(list(conditions)))
    return set(Account.objects.filter(q).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "tier", "op": "eq", "value": "high"}, {"A"}),
        ({"field": "tier", "op": "ne", "value": "high"}, {"B", "C"}),
        ({"field": "tier", "op": "in", "value": ["high", "low"]}, {"A", "B"}),
        ({"field": "tier", "op": "not_in", "value": ["high", "low"]}, {"C"}),
        ({"field": "mrr", "op": "gt", "value": 20_000}, {"A"}),
        ({"field": "mrr", "op": "gte", "value": 20_000}, {"A", "B"}),
        ({"field": "mrr", "op": "lt", "value": 20_000}, {"C"}),
        ({"field": "mrr", "op": "lte", "value": "20000"}, {"B", "C"}),
        ({"field": "industry", "op": "contains", "value": "製造"}, {"A"}),
        ({"field": "industry", "op": "is_set", "value": True}, {"A", "B"}),
        ({"field": "next_renewal_date", "op": "is_set", "value": False}, {"A", "B"}),
        ({"field": "next_renewal_date", "op": "gte", "value": "2026-12-31"}, {"C"}),
        ({"field": "attributes.seats", "op": "gte", "value": 10}, {"A"}),
        ({"field": "attributes.seats", "op": "lt", "value": 10}, {"B"}),
        ({"field": "attributes.plan", "op": "eq", "value": "Pro"}, {"A"}),
        ({"field": "attributes.plan", "op": "ne", "value": "Pro"}, {"B", "C"}),
        ({"field": "attributes.plan", "op": "contains", "value": "pr"}, {"A"}),
        ({"field": "attributes.seats", "op": "is_set"}, {"A", "B"}),
        ({"field": "attributes.seats", "op": "in", "value": [5, 7]}, {"B"}),
        ({"field": "tags", "op": "eq", "value": "vip"}, {"A"}),
        ({"field": "tags", "op": "ne", "value": "vip"}, {"B", "C"}),
        ({"field": "tags", "op": "in", "value": ["vip", "trial"]}, {"A", "B"}),
        ({"field": "tags", "op": "not_in", "value": ["vip", "trial"]}, {"C"}),
        ({"field": "tags", "op": "is_set", "value": False}, {"C"}),
    ],
)
def test_each_operator_selects_the_accounts_it_says(accounts, condition, expected):
    assert matching(condition) == expected


def test_all_conditions_must_hold(accounts):
    assert matching({"field": "tags", "op": "is_set"}, {"field": "mrr", "op": "lt", "value": 50_000}) == {"B"}


def test_conditions_narrow_the_runs_a_trigger_starts(accounts):
    a = accounts[0]
    for account in accounts:
        account.next_renewal_date = dt.date(2026, 12, 20)
        account.save()
    pb = PlaybookFactory(
        trigger=TriggerKind.RENEWAL_DUE,
        trigger_params={"days": 30},
        conditions=[{"field": "tags", "op": "eq", "value": "vip"}],
    )
    from banso.playbooks.triggers import evaluate

    now = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    result = evaluate(now=now, playbooks=[pb])
    assert (result.playbooks[0].fired, result.playbooks[0].matched, result.runs_started) == (3, 1, 1)
    assert PlaybookRun.objects.get().account == a


@pytest.mark.parametrize(
    ("conditions", "field", "message"),
    [
        ("tier", "conditions", ""),
        ([{"field": "colour", "op": "eq", "value": "x"}], "conditions.0.field", "colour"),
        ([{"field": "tier", "op": "gt", "value": "high"}], "conditions.0.op", "eq"),
        ([{"field": "tier", "op": "eq", "value": "gold"}], "conditions.0.value", "high"),
        ([{"field": "mrr", "op": "gt", "value": "lots"}], "conditions.0.value", "整数"),
        (
            [{"field": "tier", "op": "eq", "value": "high"}, {"field": "tags", "op": "in", "value": []}],
            "conditions.1.value",
            "",
        ),
        ([{"field": "attributes.a__b", "op": "eq", "value": 1}], "conditions.0.field", ""),
        ([{"field": "attributes.x", "op": "gt", "value": "soon"}], "conditions.0.value", "YYYY-MM-DD"),
    ],
)
def test_bad_conditions_name_the_part_at_fault(conditions, field, message):
    with pytest.raises(ValidationError) as caught:
        validate_conditions(conditions)
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("nonsense", {}, "trigger"),
        (TriggerKind.RENEWAL_DUE, [], "trigger_params"),
        (TriggerKind.RENEWAL_DUE, {}, "trigger_params.days"),
        (TriggerKind.RENEWAL_DUE, {"days": -1}, "trigger_params.days"),
        (TriggerKind.RENEWAL_DUE, {"days": 30, "colour": 1}, "trigger_params.colour"),
        (TriggerKind.HEALTH_BAND, {"to_bands": ["purple"]}, "trigger_params.to_bands"),
        (TriggerKind.RISK_THRESHOLD, {"threshold": 1.5}, "trigger_params.threshold"),
        (TriggerKind.SEGMENT_ENTERED, {"segment_id": 999_999}, "trigger_params.segment_id"),
        (TriggerKind.DATE_REACHED, {"attribute": "a b"}, "trigger_params.attribute"),
    ],
)
def test_bad_trigger_settings_name_the_setting(kind, params, field):
    with pytest.raises(ValidationError) as caught:
        validate_params(kind, params)
    assert field in caught.value.message_dict


def test_trigger_settings_get_their_defaults():
    segment = SegmentFactory()
    assert validate_params(TriggerKind.SURVEY_DETRACTOR, {}) == {"max_score": 6, "within_days": 7}
    assert validate_params(TriggerKind.SEGMENT_LEFT, {"segment_id": str(segment.pk)}) == {
        "segment_id": segment.pk,
        "within_days": 7,
    }
    assert validate_params(TriggerKind.HEALTH_BAND, {"to_bands": ["red", "yellow", "red"]})["to_bands"] == [
        "red",
        "yellow",
    ]


def test_condition_fields_carry_japanese_labels_and_choices():
    fields = {f.name: f for f in condition_fields()}
    assert str(fields["tier"].label) == "タッチ区分"
    assert {value for value, _label in fields["tier"].choices} == {"high", "low", "tech"}
    assert "contains" in fields["industry"].ops and "gt" not in fields["tier"].ops


def test_manual_start_respects_the_cool_down_unless_forced():
    account, user = AccountFactory(), UserFactory()
    pb = PlaybookFactory(cooldown_days=30)
    first = start_manually(pb, account, user)
    assert first.cause.startswith("manual:") and first.started_by == user
    first.status = PlaybookRunStatus.COMPLETED
    first.save()
    with pytest.raises(ValidationError) as caught:
        start_manually(pb, account, user)
    assert "30" in caught.value.message_dict["account_id"][0]
    forced = start_manually(pb, account, user, force=True)
    assert forced.pk != first.pk
    with pytest.raises(ValidationError):  # still running: never doubled, forced or not
        start_manually(pb, account, user, force=True)
    assert PlaybookRun.objects.filter(playbook=pb, account=account).count() == 2
