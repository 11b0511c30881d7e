"""Accounts in the JSON API: the filtered list, the Account 360, edits (audited), timeline and audit trail."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from banso.api.auth import role
from banso.core.models import User
from banso.core.permissions import Capability

from . import services
from .choices import AccountKind, LifecycleStage, TouchTier
from .models import Account

router = Router(tags=["accounts"])
MAX_PAGE_SIZE = 200


class AccountOut(Schema):
    id: int
    name: str
    name_kana: str
    kind: str
    owner_id: int | None
    owner_name: str | None = None
    tier: str
    lifecycle_stage: str
    industry: str
    mrr: int = Field(description="Monthly recurring revenue in yen (sum of live contracts)")
    next_renewal_date: datetime.date | None
    updated_at: datetime.datetime

    @staticmethod
    def resolve_owner_name(obj: Account) -> str | None:
        return str(obj.owner) if obj.owner_id and obj.owner else None


class AccountPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[AccountOut]


class ContactOut(Schema):
    id: int
    name: str
    name_kana: str
    email: str
    phone: str
    title: str
    role: str
    is_primary: bool
    left_on: datetime.date | None
    successor_id: int | None


class ContractOut(Schema):
    id: int
    plan: str
    mrr: int = Field(description="yen")
    start_date: datetime.date
    end_date: datetime.date | None
    renewal_date: datetime.date | None
    auto_renew: bool
    status: str
    churned_on: datetime.date | None
    churn_reason: str


class AccountDetailOut(AccountOut):
    attributes: dict[str, Any]
    source: str
    external_id: str
    contacts: list[ContactOut]
    contracts: list[ContractOut]


class AccountPatch(Schema):
    name: str | None = None
    name_kana: str | None = None
    kind: AccountKind | None = None
    owner_id: int | None = None
    tier: TouchTier | None = None
    lifecycle_stage: LifecycleStage | None = None
    industry: str | None = None
    attributes: dict[str, Any] | None = None


class AccountFilterIn(Schema):
    owner: str | None = Field(None, description="a user id, or 'none' for unassigned accounts")
    kind: AccountKind | None = None
    tier: TouchTier | None = None
    stage: LifecycleStage | None = None
    renewal_month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    q: str | None = Field(None, description="name or reading; kana and width insensitive")
    sort: str = Field(services.DEFAULT_SORT, description=", ".join(services.SORTS))
    page: int = Field(1, ge=1)
    page_size: int = Field(services.PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class ChangeOut(Schema):
    field: str
    label: str
    before: str
    after: str


class AuditOut(Schema):
    id: int
    at: datetime.datetime
    actor: str | None
    via: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, list[Any]]
    described: list[ChangeOut]


class TimelineItemOut(Schema):
    at: datetime.datetime
    kind: str
    title: str
    detail: str
    actor: str
    all_day: bool
    upcoming: bool
    changes: list[ChangeOut]


class TimelineOut(Schema):
    items: list[TimelineItemOut]
    next: str | None = Field(None, description="pass as ?before= for the next page")


class ErrorOut(Schema):
    detail: Any


@router.get("/", response=AccountPage, auth=role(Capability.VIEW_ACCOUNTS))
def list_accounts(request: HttpRequest, filters: Query[AccountFilterIn]) -> dict[str, Any]:
    if filters.sort not in services.SORTS:
        raise HttpError(422, f"sort: one of {', '.join(services.SORTS)}")
    if filters.owner not in (None, "", services.NO_OWNER) and not str(filters.owner).isdigit():
        raise HttpError(422, "owner: a user id or 'none'")
    try:
        qs = services.account_queryset(
            services.AccountFilters(
                owner=filters.owner or None,
                kind=filters.kind or "",
                tier=filters.tier or "",
                stage=filters.stage or "",
                renewal_month=filters.renewal_month or "",
                q=filters.q or "",
                sort=filters.sort,
            )
        )
    except ValueError as exc:
        raise HttpError(422, str(exc)) from exc
    paginator = Paginator(qs, filters.page_size)
    page = paginator.get_page(filters.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "page_size": filters.page_size,
        "results": list(page.object_list),
    }


def _detail(pk: int) -> dict[str, Any]:
    try:
        account, contacts, contracts = services.account_360(pk)
    except Account.DoesNotExist as exc:
        raise HttpError(404, "no such account") from exc
    data = AccountOut.from_orm(account).dict()
    data.update(
        attributes=account.attributes,
        source=account.source,
        external_id=account.external_id,
        contacts=contacts,
        contracts=contracts,
    )
    return data


@router.get("/{int:account_id}", response=AccountDetailOut, auth=role(Capability.VIEW_ACCOUNTS))
def get_account(request: HttpRequest, account_id: int) -> dict[str, Any]:
    return _detail(account_id)


@router.patch("/{int:account_id}", response={200: AccountDetailOut, 422: ErrorOut}, auth=role(Capability.EDIT_ACCOUNTS))
def patch_account(request: HttpRequest, account_id: int, payload: AccountPatch) -> Any:
    account = get_object_or_404(Account, pk=account_id)
    changes = payload.dict(exclude_unset=True)
    if "owner_id" in changes:
        changes["owner"] = changes.pop("owner_id")
    for name in ("name", "kind", "tier", "lifecycle_stage"):
        if name in changes and changes[name] is None:
            return Status(422, {"detail": {name: ["This field cannot be null."]}})
    for name in ("name_kana", "industry"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    if changes.get("attributes", {}) is None:
        changes["attributes"] = {}
    actor = request.user if isinstance(request.user, User) else None
    try:
        services.update_account(account, actor, via="api", **changes)
    except ValidationError as exc:
        return Status(422, {"detail": exc.message_dict if hasattr(exc, "error_dict") else exc.messages})
    return Status(200, _detail(account_id))


@router.get("/{int:account_id}/timeline", response=TimelineOut, auth=role(Capability.VIEW_ACCOUNTS))
def account_timeline(
    request: HttpRequest, account_id: int, before: str | None = None, limit: int = services.TIMELINE_LIMIT
) -> dict[str, Any]:
    account = get_object_or_404(Account.objects.only("id"), pk=account_id)
    try:
        page = services.timeline(account, before=before or None, limit=min(max(limit, 1), 200))
    except ValueError as exc:
        raise HttpError(422, "before: not a timeline cursor") from exc
    return {"items": page.items, "next": page.next_cursor}


@router.get("/{int:account_id}/audit", response=list[AuditOut], auth=role(Capability.VIEW_AUDIT))
def account_audit(request: HttpRequest, account_id: int, limit: int = 200) -> list[dict[str, Any]]:
    get_object_or_404(Account.objects.only("id"), pk=account_id)
    return [
        {
            "id": entry.pk,
            "at": entry.at,
            "actor": str(entry.actor) if entry.actor else None,
            "via": entry.via,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "object_repr": entry.object_repr,
            "changes": entry.changes,
            "described": changes,
        }
        for entry, changes in services.account_audit(account_id, limit=min(max(limit, 1), 1000))
    ]
