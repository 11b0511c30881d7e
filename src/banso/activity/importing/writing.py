"""Writing a checked batch in one transaction: upserts by (source, external_id), events through the store."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import polars as pl
from django.db import models, transaction
from django.utils import timezone

from banso.accounts.models import Account, Contract
from banso.accounts.services import refresh_rollups
from banso.core.choices import AuditAction
from banso.core.models import AuditEntry, User
from banso.core.services import diff, record_changes_bulk, snapshot
from banso.core.text import search_key

from .. import store
from ..models import ImportEntity
from .checking import Checked, check
from .reading import frame_from_records, read_file
from .specs import LOOKUP_CHUNK, SELF_REFS, Column, EntitySpec, ImportRefused, ImportResult, Progress, spec_for

WRITE_CHUNK = 100_000  # events per store call (and progress step)
RECORD_CHUNK = 2_000  # records per upsert step


def import_frame(
    entity: str,
    source: str,
    raw: pl.DataFrame,
    *,
    actor: User | None = None,
    progress: Progress | None = None,
    first_row: int = 2,
) -> ImportResult:
    """Check `raw` and, if every row is good, write it in one transaction. Raises ImportRefused otherwise."""
    spec = spec_for(entity)
    checked = check(spec, raw, source, first_row=first_row)
    total = checked.frame.height
    if checked.error_count:
        raise ImportRefused(checked.errors, total_rows=total, error_count=checked.error_count)
    if entity == ImportEntity.EVENTS:
        with store.bulk_loading(), transaction.atomic():
            result = _write_events(checked, progress)
    elif spec.write is not None:
        with transaction.atomic():
            result = spec.write(checked, actor, progress)
    else:
        with transaction.atomic():
            result = _upsert(checked, actor, progress)
    result.total_rows = total
    return result


def import_bytes(
    entity: str,
    source: str,
    data: bytes,
    filename: str,
    *,
    actor: User | None = None,
    progress: Progress | None = None,
    on_read: Callable[[int], None] | None = None,
) -> ImportResult:
    """Read a CSV/XLSX file and import it; `on_read(rows)` is called once the rows are counted."""
    raw = read_file(data, filename)
    del data
    if on_read:
        on_read(raw.height)
    return import_frame(entity, source, raw, actor=actor, progress=progress)


def import_records(
    entity: str, source: str, records: Iterable[Mapping[str, Any]], *, actor: User | None = None
) -> ImportResult:
    """A JSON API batch; its rows are numbered 1, 2, … in the order of `records`."""
    return import_frame(entity, source, frame_from_records(records), actor=actor, first_row=1)


def _write_events(checked: Checked, progress: Progress | None) -> ImportResult:
    frame = checked.frame
    events = frame.select(
        pl.lit(checked.source, dtype=pl.String).alias("source"),
        pl.col("external_id"),
        pl.col("account").alias("account_id"),
        pl.col("end_user").alias("end_user_id"),
        pl.col("kind"),
        pl.col("occurred_at"),
        pl.col("value"),
        pl.col("properties"),
    )
    total = events.height
    inserted = 0
    for start in range(0, total, WRITE_CHUNK):
        inserted += store.append_events(events.slice(start, WRITE_CHUNK))
        if progress:
            progress(min(total, start + WRITE_CHUNK), total)
    return ImportResult(created=inserted, unchanged=total - inserted)


def _empty_value(model: type[models.Model], column: Column) -> Any:
    """What an empty cell means for a field: its default where it has one, else blank or null."""
    model_field = model._meta.get_field(column.name)
    assert isinstance(model_field, models.Field)
    if model_field.has_default():
        return model_field.get_default()
    if model_field.null:
        return None
    return ""


def _python_value(column: Column, value: Any, model: type[models.Model]) -> Any:
    if value is None:
        return _empty_value(model, column) if column.kind != "ref" else None
    if column.kind == "json":
        return json.loads(value)
    return value


def _upsert(checked: Checked, actor: User | None, progress: Progress | None) -> ImportResult:
    spec, source = checked.spec, checked.source
    model = spec.model
    self_ref = SELF_REFS.get(spec.entity)
    columns = [spec.by_name[n] for n in checked.present if n != "external_id"]
    direct = [c for c in columns if not (c.kind == "ref" and c.ref == self_ref)]
    deferred = [c for c in columns if c.kind == "ref" and c.ref == self_ref]
    audited = [c.name for c in columns]
    now = timezone.now()
    result = ImportResult()
    audit: list[AuditEntry] = []
    created_audit: dict[int, AuditEntry] = {}
    touched_accounts: set[int] = set()
    changed_pks: set[int] = set()
    total = checked.frame.height
    rows = checked.frame.iter_rows(named=True)
    done = 0
    for batch in _batches(rows, RECORD_CHUNK):
        existing = {
            obj.external_id: obj  # type: ignore[attr-defined]
            for obj in model._default_manager.filter(source=source, external_id__in=[r["external_id"] for r in batch])
        }
        new_objs: list[models.Model] = []
        changed: list[models.Model] = []
        for row in batch:
            values = {c.attname: _python_value(c, row[c.name], model) for c in direct}
            obj = existing.get(row["external_id"])
            if obj is None:
                obj = model(source=source, external_id=row["external_id"], created_at=now, updated_at=now, **values)
                if isinstance(obj, Account):
                    obj.search_text = search_key(obj.name, obj.name_kana)
                new_objs.append(obj)
                continue
            before = snapshot(obj, audited)
            dirty = [a for a, v in values.items() if getattr(obj, a) != v]
            if not dirty:
                continue
            if isinstance(obj, Contract):
                touched_accounts.add(obj.account_id)
            for attname, value in values.items():
                setattr(obj, attname, value)
            obj.updated_at = now  # type: ignore[attr-defined]
            if isinstance(obj, Account):
                obj.search_text = search_key(obj.name, obj.name_kana)
            changed.append(obj)
            audit.append(_audit_entry(obj, AuditAction.UPDATE, before, snapshot(obj, audited), actor, spec))
        if new_objs:
            model._default_manager.bulk_create(new_objs, batch_size=1000)
            for obj in new_objs:
                entry = _audit_entry(obj, AuditAction.CREATE, {}, snapshot(obj, audited), actor, spec)
                created_audit[obj.pk] = entry
                audit.append(entry)
        if changed:
            fields = [c.name for c in direct] + ["updated_at"]
            if model is Account:
                fields.append("search_text")
            model._default_manager.bulk_update(changed, fields, batch_size=1000)
        result.created += len(new_objs)
        changed_pks.update(o.pk for o in changed)
        touched_accounts.update(o.account_id for o in [*new_objs, *changed] if isinstance(o, Contract))
        done += len(batch)
        if progress:
            progress(done, total)

    if deferred:
        _apply_self_refs(checked, deferred, actor, now, audit, created_audit, changed_pks)
    result.updated = len(changed_pks)
    result.unchanged = total - result.created - result.updated
    record_changes_bulk(audit)
    if touched_accounts:
        refresh_rollups(touched_accounts)
    return result


def _apply_self_refs(
    checked: Checked,
    columns: list[Column],
    actor: User | None,
    now: datetime.datetime,
    audit: list[AuditEntry],
    created_audit: dict[int, AuditEntry],
    changed_pks: set[int],
) -> None:
    """References to rows of the same file (a contact's successor) are set once every row has its pk."""
    model = checked.spec.model
    frame = checked.frame
    ids = frame.get_column("external_id").to_list()
    refs = {c.name: frame.get_column(f"{c.name}__ext").to_list() for c in columns}
    wanted = set(ids) | {v for values in refs.values() for v in values if v}
    pk_of: dict[str, int] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), LOOKUP_CHUNK):
        chunk = wanted_list[start : start + LOOKUP_CHUNK]
        pk_of.update(
            model._default_manager.filter(source=checked.source, external_id__in=chunk).values_list("external_id", "pk")
        )
    objs = {o.pk: o for o in model._default_manager.filter(pk__in=[pk_of[i] for i in ids])}
    changed: list[models.Model] = []
    for i, ext in enumerate(ids):
        obj = objs[pk_of[ext]]
        names = [c.name for c in columns]
        before = snapshot(obj, names)
        dirty = False
        for column in columns:
            target = refs[column.name][i]
            pk = pk_of.get(target) if target else None
            if getattr(obj, column.attname) != pk:
                setattr(obj, column.attname, pk)
                dirty = True
        if not dirty:
            continue
        obj.updated_at = now  # type: ignore[attr-defined]
        changed.append(obj)
        if obj.pk in created_audit:  # created by this import: its creation entry names the reference too
            created_audit[obj.pk].changes.update(diff({}, snapshot(obj, names)))
        else:
            changed_pks.add(obj.pk)
            audit.append(_audit_entry(obj, AuditAction.UPDATE, before, snapshot(obj, names), actor))
    if changed:
        model._default_manager.bulk_update(changed, [c.attname for c in columns] + ["updated_at"], batch_size=1000)


def _audit_entry(
    obj: models.Model,
    action: AuditAction,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    actor: User | None,
    spec: EntitySpec | None = None,
) -> AuditEntry:
    account_id = obj.pk if isinstance(obj, Account) else getattr(obj, spec.account_attr if spec else "account_id", None)
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        via="import",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=(spec.describe(obj) if spec and spec.describe else _describe(obj))[:200],
        account_id=account_id,
        changes=diff(before, after),
    )


def _describe(obj: models.Model) -> str:
    if isinstance(obj, Contract):  # its str() would fetch the account, one query per row
        return f"{obj.plan} ({obj.external_id})"
    return str(obj)


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
