"""Core actions: writing audit entries for changes to customer data."""

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import models

from .choices import AuditAction
from .models import AuditEntry, User


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited fields of `obj` as JSON-safe values (foreign keys by id)."""
    out = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _plain(getattr(obj, attname))
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after.keys() | before.keys() if before.get(k) != after.get(k)}


def change_entry(
    *,
    actor: User | None,
    obj: models.Model,
    action: AuditAction,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    account_id: int | None,
    via: str = "ui",
) -> AuditEntry | None:
    """The unsaved audit entry of one change (None for an update that changed nothing): `record_change` saves
    it; batch writers collect many for `record_changes_bulk`."""
    changes = diff(before or {}, after or {})
    if action == AuditAction.UPDATE and not changes:
        return None
    return AuditEntry(
        actor=actor if actor and actor.is_authenticated else None,
        via=via,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        account_id=account_id,
        changes=changes,
    )


def record_change(
    *,
    actor: User | None,
    obj: models.Model,
    action: AuditAction,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    account_id: int | None,
    via: str = "ui",
) -> AuditEntry | None:
    """Write one audit entry; an update that changed nothing writes none."""
    entry = change_entry(
        actor=actor, obj=obj, action=action, before=before, after=after, account_id=account_id, via=via
    )
    if entry is not None:
        entry.save(force_insert=True)
    return entry


def record_changes_bulk(entries: list[AuditEntry]) -> None:
    """Imports write thousands of entries at once."""
    AuditEntry.objects.bulk_create(entries, batch_size=2000)
