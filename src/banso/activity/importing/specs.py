"""Column specs per record type, and the results and errors an import reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from banso.accounts.choices import AccountKind, ContactRole, ContractStatus, EndUserKind, LifecycleStage, TouchTier
from banso.accounts.models import Account, Contact, Contract, EndUser

from ..models import Event, ImportEntity

Progress = Callable[[int, int], None]

ROW = "__row"  # the frame column holding each record's row number as the user sees it
MAX_ERRORS = 1000  # kept and shown; the total is still counted and reported
TOKYO = "Asia/Tokyo"
LOOKUP_CHUNK = 5_000  # external ids per reference query


@dataclass(frozen=True)
class Column:
    """One column of an import file: its name there, how its text is read, and the model field it fills."""

    name: str
    kind: str  # str | int | int_yen | date | datetime | bool | decimal | json | email | choice | ref
    required: bool = False
    max_length: int | None = None
    choices: type[models.TextChoices] | None = None
    ref: str | None = None  # for kind="ref": "account" | "contact" | "end_user", by external id in the source
    allowed: tuple[int, ...] | None = None  # for kind="int": the only values accepted (a tax rate: 8 or 10)

    @property
    def attname(self) -> str:
        return f"{self.name}_id" if self.kind == "ref" else self.name


# A check across columns, run after every column's own: (raw frame, typed frame, add_rows(frame, mask, column,
# reason)). Registered specs bring theirs (a cancelled booking needs its cancellation time).
RowCheck = Callable[[Any, Any, Callable[..., None]], None]


@dataclass(frozen=True)
class EntitySpec:
    entity: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    checks: tuple[RowCheck, ...] = ()
    account_attr: str = "account_id"  # the audit entry's account
    describe: Callable[[Any], str] | None = None  # the audit entry's text without a query per row
    # Records that are not one model's rows (a provider: account, profile and services) bring their own
    # writer: (checked batch, actor, progress) -> ImportResult, run in the import's one transaction.
    write: Callable[[Any, Any, Progress | None], ImportResult] | None = None

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


EXTERNAL_ID = Column("external_id", "str", required=True, max_length=100)

SPECS: dict[str, EntitySpec] = {
    ImportEntity.ACCOUNTS: EntitySpec(
        ImportEntity.ACCOUNTS,
        Account,
        (
            EXTERNAL_ID,
            Column("name", "str", required=True, max_length=200),
            Column("name_kana", "str", max_length=200),
            Column("kind", "choice", choices=AccountKind),
            Column("tier", "choice", choices=TouchTier),
            Column("lifecycle_stage", "choice", choices=LifecycleStage),
            Column("industry", "str", max_length=100),
            Column("attributes", "json"),
        ),
    ),
    ImportEntity.CONTACTS: EntitySpec(
        ImportEntity.CONTACTS,
        Contact,
        (
            EXTERNAL_ID,
            Column("account", "ref", required=True, ref="account"),
            Column("name", "str", required=True, max_length=200),
            Column("name_kana", "str", max_length=200),
            Column("email", "email", max_length=254),
            Column("phone", "str", max_length=40),
            Column("title", "str", max_length=100),
            Column("role", "choice", choices=ContactRole),
            Column("is_primary", "bool"),
            Column("left_on", "date"),
            Column("successor", "ref", ref="contact"),
        ),
    ),
    ImportEntity.CONTRACTS: EntitySpec(
        ImportEntity.CONTRACTS,
        Contract,
        (
            EXTERNAL_ID,
            Column("account", "ref", required=True, ref="account"),
            Column("plan", "str", required=True, max_length=100),
            Column("mrr", "int_yen", required=True),
            Column("start_date", "date", required=True),
            Column("end_date", "date"),
            Column("renewal_date", "date"),
            Column("auto_renew", "bool"),
            Column("status", "choice", choices=ContractStatus),
            Column("churned_on", "date"),
            Column("churn_reason", "str", max_length=200),
        ),
    ),
    ImportEntity.END_USERS: EntitySpec(
        ImportEntity.END_USERS,
        EndUser,
        (
            EXTERNAL_ID,
            Column("kind", "choice", choices=EndUserKind),
            Column("name", "str", max_length=200),
            Column("email", "email", max_length=254),
            Column("account", "ref", ref="account"),
            Column("attributes", "json"),
        ),
    ),
    ImportEntity.EVENTS: EntitySpec(
        ImportEntity.EVENTS,
        Event,  # written by the event store, not the ORM
        (
            EXTERNAL_ID,
            Column("account", "ref", ref="account"),
            Column("end_user", "ref", ref="end_user"),
            Column("kind", "str", required=True, max_length=50),
            Column("occurred_at", "datetime", required=True),
            Column("value", "decimal"),
            Column("properties", "json"),
        ),
    ),
}

REF_MODELS: dict[str, type[Account | Contact | EndUser]] = {
    "account": Account,
    "contact": Contact,
    "end_user": EndUser,
}
SELF_REFS: dict[str, str] = {ImportEntity.CONTACTS: "contact"}  # references that may point at rows of the same file


def register_spec(spec: EntitySpec, label: Any) -> None:
    """Make a record type of an app above activity importable through the one engine (files, API, page):
    call from its AppConfig.ready(). `label` is the lazy translated name shown in the imports page."""
    from ..models import REGISTERED_ENTITIES

    SPECS[spec.entity] = spec
    REGISTERED_ENTITIES[spec.entity] = label


def spec_for(entity: str) -> EntitySpec:
    try:
        return SPECS[entity]
    except KeyError:
        raise ValueError(f"unknown entity {entity!r}") from None


def row_error(row: int | None, column: str, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


class ImportRefused(Exception):
    """The batch was refused; nothing was written. `errors` are (row, column, reason) dicts."""

    def __init__(self, errors: list[dict[str, Any]], total_rows: int = 0, error_count: int | None = None):
        super().__init__(f"{error_count or len(errors)} error(s)")
        self.errors = errors
        self.total_rows = total_rows
        self.error_count = error_count if error_count is not None else len(errors)


@dataclass
class ImportResult:
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_count
