"""Who changed a metric or segment definition, and what: the audit log keeps it like customer data."""

import pytest

from banso.analytics import services
from banso.core.choices import AuditAction, Role
from banso.core.models import AuditEntry

RULES = {"match": "all", "rules": [{"type": "metric", "metric": "logins_30d", "op": "eq", "value": 0}]}
SPEC = {"aggregate": "count", "kinds": ["login"], "window": {"days": 7}}


@pytest.mark.django_db
def test_creating_and_editing_a_segment_is_logged_with_who_and_each_changed_field(user_with_role):
    manager = user_with_role(Role.OPS_MANAGER)
    segment = services.save_segment(manager, name="ログインなし", rules=RULES)
    services.save_segment(manager, name="ログインなし（30日）", rules=RULES, instance=segment, via="api")

    created, updated = AuditEntry.objects.filter(object_type="analytics.segment").order_by("at", "id")
    assert (created.action, created.actor, created.via) == (AuditAction.CREATE, manager, "ui")
    assert (updated.action, updated.via) == (AuditAction.UPDATE, "api")
    assert updated.changes == {"name": ["ログインなし", "ログインなし（30日）"]}


@pytest.mark.django_db
def test_switching_a_custom_metric_off_is_logged(user_with_role):
    manager = user_with_role(Role.OPS_MANAGER)
    metric = services.save_custom_metric(manager, key="logins_7d", label="ログイン（7日）", spec=SPEC)
    services.set_metric_active(manager, metric, False)
    entries = AuditEntry.objects.filter(object_type="analytics.metricdefinition").order_by("at", "id")
    assert [entry.action for entry in entries] == [AuditAction.CREATE, AuditAction.UPDATE]
    assert entries.last().changes == {"is_active": [True, False]}
