"""Churn records and the churn-reason taxonomy: recording why an account left, keeping the contract in step,
editing the reasons, and finding churned contracts that still lack a reason.

The contract (`accounts.Contract`) is the source of truth for revenue; a churn record adds why. Recording a
churn for a contract that is not yet churned marks it churned through `accounts.services.update_contract`,
in the same transaction, so revenue analysis and the record never disagree."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts import services as accounts_services
from banso.accounts.choices import ContractStatus
from banso.accounts.models import Account, Contract
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .defaults import DEFAULT_REASONS
from .models import ChurnReason, ChurnRecord

RECORD_FIELDS = ("account", "contract", "churned_on", "reason", "sub_reason", "note", "lost_mrr")
REASON_FIELDS = ("parent", "code", "name", "order", "is_active")
PAGE_SIZE = 50

# Free-text churn reasons as contracts carry them (the demo's among them) → (reason code, sub-reason code).
KNOWN_TEXTS: dict[str, tuple[str, str]] = {
    "利用頻度の低下（社内で活用が定着しなかった）": ("usage", "usage-low"),
    "推進担当者の退職・異動により社内の推進者が不在になった": ("champion", "champion-no-successor"),
    "問い合わせへの対応・サポート品質への不満": ("support", "support-response"),
    "予算削減のため": ("budget", ""),
    "競合サービスへの乗り換え": ("competitor", ""),
    "事業方針の変更・組織再編": ("policy", "policy-reorg"),
    "必要な機能が不足していた": ("feature", ""),
    "価格に見合う価値を感じられなかった": ("price", "price-value"),
}
FALLBACK_REASON = "other"


# --- The taxonomy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonNode:
    reason: ChurnReason
    children: list[ChurnReason]


def reason_tree(*, active_only: bool = False) -> list[ReasonNode]:
    """Reasons in order, each with its sub-reasons; one query."""
    rows = list(ChurnReason.objects.filter(is_active=True) if active_only else ChurnReason.objects.all())
    children: dict[int, list[ChurnReason]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    return [ReasonNode(row, children.get(row.pk, [])) for row in rows if row.parent_id is None]


def reason_for_text(text: str, reasons: dict[str, ChurnReason] | None = None) -> tuple[ChurnReason, ChurnReason | None]:
    """Map a contract's free-text churn reason onto the taxonomy: a known text, else a reason or
    sub-reason whose name the text contains, else その他."""
    by_code = reasons if reasons is not None else {r.code: r for r in ChurnReason.objects.all()}
    text = (text or "").strip()
    if text in KNOWN_TEXTS:
        code, sub_code = KNOWN_TEXTS[text]
        if code in by_code:
            return by_code[code], by_code.get(sub_code) if sub_code else None
    for row in by_code.values():
        if row.parent_id is not None and row.name and row.name in text:
            parent = next((r for r in by_code.values() if r.pk == row.parent_id), None)
            if parent is not None:
                return parent, row
    for row in by_code.values():
        if row.parent_id is None and row.name and row.name in text:
            return row, None
    fallback = by_code.get(FALLBACK_REASON) or next((r for r in by_code.values() if r.parent_id is None), None)
    if fallback is None:
        raise ValueError("no churn reasons are defined; add them on the churn reasons page")
    return fallback, None


def ensure_default_reasons() -> int:
    """Install the default taxonomy where none exists (a database emptied after its migrations); returns
    how many reasons were added. An edited taxonomy is left as it is."""
    if ChurnReason.objects.exists():
        return 0
    added = 0
    with transaction.atomic():
        for order, (code, name, children) in enumerate(DEFAULT_REASONS, start=1):
            parent = ChurnReason.objects.create(code=code, name=name, order=order * 10)
            for sub_order, (sub_code, sub_name) in enumerate(children, start=1):
                ChurnReason.objects.create(code=sub_code, name=sub_name, order=sub_order * 10, parent=parent)
            added += 1 + len(children)
    return added


def _check_reason(reason: ChurnReason) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        reason.full_clean(exclude=["parent"], validate_unique=True, validate_constraints=False)
    except ValidationError as exc:
        errors.update({k: list(v) for k, v in exc.message_dict.items()})
    if reason.parent_id is not None:
        parent = ChurnReason.objects.filter(pk=reason.parent_id).first()
        if parent is None:
            errors["parent"] = [_("Choose an existing reason.")]
        elif parent.parent_id is not None:
            errors["parent"] = [_("Sub-reasons go under a top-level reason; the taxonomy has two levels.")]
        elif reason.pk is not None and parent.pk == reason.pk:
            errors["parent"] = [_("A reason cannot be its own parent.")]
        elif reason.pk is not None and ChurnReason.objects.filter(parent_id=reason.pk).exists():
            errors["parent"] = [_("This reason has sub-reasons, so it must stay a top-level reason.")]
    return errors


def create_reason(actor: User | None, *, via: str = "ui", **values: Any) -> ChurnReason:
    """Add a reason or sub-reason; raises ValidationError naming the field."""
    unknown = sorted(set(values) - set(REASON_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    reason = ChurnReason(**_ids(values, ("parent",)))
    with transaction.atomic():
        errors = _check_reason(reason)
        if errors:
            raise ValidationError(errors)
        reason.save()
        record_change(
            actor=actor,
            obj=reason,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(reason, REASON_FIELDS),
            account_id=None,
            via=via,
        )
    return reason


def update_reason(reason: ChurnReason, actor: User | None, *, via: str = "ui", **changes: Any) -> ChurnReason:
    """Rename, reorder, move or (de)activate a reason; records keep pointing at it."""
    unknown = sorted(set(changes) - set(REASON_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    with transaction.atomic():
        locked = ChurnReason.objects.select_for_update().get(pk=reason.pk)
        before = snapshot(locked, REASON_FIELDS)
        for name, value in _ids(changes, ("parent",)).items():
            setattr(locked, name, value)
        errors = _check_reason(locked)
        if errors:
            raise ValidationError(errors)
        after = snapshot(locked, REASON_FIELDS)
        if after != before:
            locked.save()
            record_change(
                actor=actor,
                obj=locked,
                action=AuditAction.UPDATE,
                before=before,
                after=after,
                account_id=None,
                via=via,
            )
    return locked


def _ids(values: dict[str, Any], fks: Iterable[str]) -> dict[str, Any]:
    out = dict(values)
    for name in fks:
        if name in out:
            value = out.pop(name)
            out[f"{name}_id"] = value.pk if hasattr(value, "pk") else value
    return out


# --- Churn records -----------------------------------------------------------------------------------


def mrr_before(account_id: int, day: datetime.date) -> int:
    """The account's MRR on the day before `day`: the sum over contracts running then (see docs/CHURN.md)."""
    eve = day - datetime.timedelta(days=1)
    running = Contract.objects.filter(account_id=account_id, start_date__lte=eve).filter(
        Q(status=ContractStatus.CHURNED, churned_on__gt=eve)
        | (~Q(status=ContractStatus.CHURNED) & (Q(end_date__isnull=True) | Q(end_date__gt=eve)))
    )
    return int(running.aggregate(total=Sum("mrr"))["total"] or 0)


def _resolve(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Turn ids into objects and collect every field error at once."""
    errors: dict[str, list[str]] = {}
    out = dict(values)
    lookups: list[tuple[str, Any]] = [
        ("account", Account.objects.all()),
        ("contract", Contract.objects.all()),
        ("reason", ChurnReason.objects.all()),
        ("sub_reason", ChurnReason.objects.all()),
    ]
    for name, queryset in lookups:
        value = out.get(name)
        if value is None or hasattr(value, "pk"):
            continue
        found = queryset.filter(pk=value).first() if isinstance(value, int) else None
        if found is None:
            errors[name] = [_("Choose an existing record.")]
        out[name] = found
    return out, errors


def _check_record(record: ChurnRecord, errors: dict[str, list[str]], *, new_reason: bool) -> None:
    lost = record.lost_mrr
    if not isinstance(lost, int) or isinstance(lost, bool) or lost < 0:
        errors["lost_mrr"] = [_("Enter the lost MRR as a whole number of yen, zero or more.")]
    if "account" not in errors and record.account_id is None:
        errors["account"] = [_("This field is required.")]
    if not isinstance(record.churned_on, datetime.date):
        errors.setdefault("churned_on", [_("Enter the date the account churned.")])
    if "reason" not in errors:
        reason = record.reason if record.reason_id is not None else None
        if reason is None:
            errors["reason"] = [_("Choose a churn reason.")]
        elif reason.parent_id is not None:
            errors["reason"] = [_("Choose a top-level reason; sub-reasons go in the sub-reason field.")]
        elif new_reason and not reason.is_active:
            errors["reason"] = [_("This reason is no longer in use.")]
    if "sub_reason" not in errors and record.sub_reason_id is not None and "reason" not in errors:
        sub = record.sub_reason
        assert sub is not None
        if sub.parent_id != record.reason_id:
            errors["sub_reason"] = [_("This sub-reason does not belong to the chosen reason.")]
    contract = record.contract if record.contract_id is not None else None
    if contract is not None and "contract" not in errors:
        if contract.account_id != record.account_id:
            errors["contract"] = [_("This contract belongs to another account.")]
        else:
            clash = ChurnRecord.objects.filter(contract_id=contract.pk).exclude(pk=record.pk)
            if clash.exists():
                errors["contract"] = [_("This contract already has a churn record.")]
            elif (
                isinstance(record.churned_on, datetime.date)
                and "churned_on" not in errors
                and record.churned_on < contract.start_date
            ):
                errors["churned_on"] = [_("The churn date cannot be before the contract's start.")]
    if len(record.note) > 10_000:
        errors["note"] = [_("Keep the details under 10,000 characters.")]


def _sync_contract(record: ChurnRecord, actor: User | None, via: str) -> None:
    """A record for a contract that is not yet churned churns it, through the accounts service."""
    contract = record.contract
    if contract is None or contract.status == ContractStatus.CHURNED:
        return
    reason_text = record.reason.name if record.sub_reason is None else record.sub_reason.name
    accounts_services.update_contract(
        contract,
        actor,
        via=via,
        status=ContractStatus.CHURNED,
        churned_on=record.churned_on,
        end_date=contract.end_date or record.churned_on,
        churn_reason=contract.churn_reason or reason_text,
    )


def record_churn(actor: User | None, *, via: str = "ui", **values: Any) -> ChurnRecord:
    """Record why an account churned. `lost_mrr` defaults to the contract's MRR, or without a contract to
    the account's MRR the day before the churn. A contract not yet churned is marked churned. Bad values
    raise one ValidationError naming every field, and nothing is written."""
    unknown = sorted(set(values) - set(RECORD_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    resolved, errors = _resolve(values)
    account = resolved.get("account")
    contract = resolved.get("contract")
    if account is None and contract is not None:
        account = resolved["account"] = contract.account
    churned_on = resolved.get("churned_on")
    if churned_on is None and contract is not None and contract.churned_on is not None:
        churned_on = resolved["churned_on"] = contract.churned_on
    if resolved.get("lost_mrr") is None:
        if contract is not None:
            resolved["lost_mrr"] = contract.mrr
        elif account is not None and isinstance(churned_on, datetime.date):
            resolved["lost_mrr"] = mrr_before(account.pk, churned_on)
        else:
            resolved["lost_mrr"] = 0
    record = ChurnRecord(
        account=account,
        contract=contract,
        churned_on=churned_on,  # type: ignore[misc]  # checked below, with a field-named error
        reason=resolved.get("reason"),
        sub_reason=resolved.get("sub_reason"),
        note=resolved.get("note") or "",
        lost_mrr=resolved["lost_mrr"],
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _check_record(record, errors, new_reason=True)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record.save()
        _sync_contract(record, actor, via)
        record_change(
            actor=actor,
            obj=record,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(record, RECORD_FIELDS),
            account_id=record.account_id,
            via=via,
        )
    return record


def update_record(record: ChurnRecord, actor: User | None, *, via: str = "ui", **changes: Any) -> ChurnRecord:
    """Change a churn record; one audit entry with each changed field, none if nothing changed."""
    unknown = sorted(set(changes) - set(RECORD_FIELDS) | ({"account"} & set(changes)))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    resolved, errors = _resolve(changes)
    with transaction.atomic():
        locked = ChurnRecord.objects.select_for_update().get(pk=record.pk)
        before = snapshot(locked, RECORD_FIELDS)
        reason_changed = "reason" in resolved and getattr(resolved["reason"], "pk", None) != locked.reason_id
        for name, value in resolved.items():
            if name not in errors:
                setattr(locked, name, value)
        if "lost_mrr" in changes and changes["lost_mrr"] is None:
            errors["lost_mrr"] = [_("Enter the lost MRR as a whole number of yen, zero or more.")]
        _check_record(locked, errors, new_reason=reason_changed)
        if errors:
            raise ValidationError(errors)
        after = snapshot(locked, RECORD_FIELDS)
        if after != before:
            locked.updated_at = timezone.now()
            locked.save()
            _sync_contract(locked, actor, via)
            record_change(
                actor=actor,
                obj=locked,
                action=AuditAction.UPDATE,
                before=before,
                after=after,
                account_id=locked.account_id,
                via=via,
            )
    return locked


def delete_record(record: ChurnRecord, actor: User | None, *, via: str = "ui") -> None:
    """Remove a churn record; the contract keeps its churned status (it is the revenue fact)."""
    with transaction.atomic():
        before = snapshot(record, RECORD_FIELDS)
        record_change(
            actor=actor,
            obj=record,
            action=AuditAction.DELETE,
            before=before,
            after=None,
            account_id=record.account_id,
            via=via,
        )
        record.delete()


# --- Finding records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordFilters:
    start: datetime.date | None = None
    end: datetime.date | None = None
    reason_id: int | None = None
    tier: str = ""
    industry: str = ""
    owner_id: int | None = None
    account_id: int | None = None


def record_queryset(filters: RecordFilters) -> QuerySet[ChurnRecord]:
    rows = ChurnRecord.objects.select_related("account", "contract", "reason", "sub_reason", "recorded_by")
    if filters.start:
        rows = rows.filter(churned_on__gte=filters.start)
    if filters.end:
        rows = rows.filter(churned_on__lte=filters.end)
    if filters.reason_id:
        rows = rows.filter(Q(reason_id=filters.reason_id) | Q(sub_reason_id=filters.reason_id))
    if filters.tier:
        rows = rows.filter(account__tier=filters.tier)
    if filters.industry:
        rows = rows.filter(account__industry=filters.industry)
    if filters.owner_id:
        rows = rows.filter(account__owner_id=filters.owner_id)
    if filters.account_id:
        rows = rows.filter(account_id=filters.account_id)
    return rows.order_by("-churned_on", "-id")


def contracts_without_record(limit: int | None = 200) -> QuerySet[Contract]:
    """Churned contracts nobody has given a reason yet: what still needs a churn record."""
    rows = (
        Contract.objects.filter(status=ContractStatus.CHURNED, churn_records__isnull=True)
        .select_related("account")
        .order_by("-churned_on", "-id")
    )
    return rows[:limit] if limit else rows


def account_records(account_id: int) -> list[ChurnRecord]:
    return list(
        ChurnRecord.objects.filter(account_id=account_id)
        .select_related("reason", "sub_reason", "contract")
        .order_by("-churned_on", "-id")
    )
