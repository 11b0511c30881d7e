"""The audit log records who changed what, before and after, and nothing when nothing changed."""

import pytest

from banso.core.choices import AuditAction, Role
from banso.core.models import AuditEntry, Team
from banso.core.services import record_change, snapshot

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_update_records_each_changed_field_before_and_after():
    actor = UserFactory(role=Role.CSM)
    team = Team.objects.create(name="東日本")
    before = snapshot(team, ["name"])
    team.name = "西日本"
    team.save()
    entry = record_change(
        actor=actor, obj=team, action=AuditAction.UPDATE, before=before, after=snapshot(team, ["name"]), account_id=7
    )
    assert entry is not None
    assert entry.changes == {"name": ["東日本", "西日本"]}
    assert entry.actor == actor
    assert AuditEntry.objects.filter(account_id=7).count() == 1


def test_an_update_that_changes_nothing_is_not_recorded():
    team = Team.objects.create(name="東日本")
    state = snapshot(team, ["name"])
    assert (
        record_change(actor=None, obj=team, action=AuditAction.UPDATE, before=state, after=state, account_id=None)
        is None
    )
    assert not AuditEntry.objects.exists()
