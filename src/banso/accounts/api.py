"""Accounts in the JSON API: the filtered list, the Account 360, edits to accounts, contacts and contracts
(audited), timeline and audit trail."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from banso.api.auth import role
from banso.core.models import User
from banso.core.permissions import Capability

from . import services
from .choices import AccountKind, ContactRole, ContractStatus, LifecycleStage, TouchTier
from .models import Account, Contact, Contract

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


class ContactIn(Schema):
    name: str
    name_kana: str = ""
    email: str = ""
    phone: str = ""
    title: str = ""
    role: ContactRole = ContactRole.USER
    is_primary: bool = False


class ContactPatch(Schema):
    name: str | None = None
    name_kana: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    role: ContactRole | None = None
    is_primary: bool | None = None


class NewSuccessorIn(Schema):
    name: str
    email: str = ""


class ContactLeftIn(Schema):
    left_on: datetime.date | None = Field(None, description="defaults to today")
    successor_id: int | None = Field(None, description="a current contact of the same account")
    new_successor: NewSuccessorIn | None = Field(None, description="or a person to add as the successor")


class ContractIn(Schema):
    plan: str
    mrr: int = Field(description="yen, zero or more")
    start_date: datetime.date
    end_date: datetime.date | None = None
    renewal_date: datetime.date | None = Field(None, description="not before start_date")
    auto_renew: bool = False
    status: ContractStatus = ContractStatus.ACTIVE
    churned_on: datetime.date | None = Field(None, description="required when status is churned")
    churn_reason: str = ""


class ContractPatch(Schema):
    plan: str | None = None
    mrr: int | None = Field(None, description="yen, zero or more")
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    renewal_date: datetime.date | None = None
    auto_renew: bool | None = None
    status: ContractStatus | None = Field(None, description="leaving churned clears churned_on and churn_reason")
    churned_on: datetime.date | None = None
    churn_reason: str | None = None


def _refused(exc: ValidationError) -> Status[dict[str, Any]]:
    return Status(422, {"detail": exc.message_dict if hasattr(exc, "error_dict") else exc.messages})


def _not_null(
    changes: dict[str, Any], required: tuple[str, ...], blank: tuple[str, ...]
) -> Status[dict[str, Any]] | None:
    """PATCH semantics: null clears a text field, and is refused for a field that must have a value."""
    for name in required:
        if name in changes and changes[name] is None:
            return Status(422, {"detail": {name: [_("This field cannot be null.")]}})
    for name in blank:
        if name in changes and changes[name] is None:
            changes[name] = ""
    return None


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


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
    refused = _not_null(changes, ("name", "kind", "tier", "lifecycle_stage"), ("name_kana", "industry"))
    if refused:
        return refused
    if changes.get("attributes", {}) is None:
        changes["attributes"] = {}
    try:
        services.update_account(account, _actor(request), via="api", **changes)
    except ValidationError as exc:
        return _refused(exc)
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


@router.post(
    "/{int:account_id}/contacts",
    response={201: ContactOut, 422: ErrorOut},
    auth=role(Capability.EDIT_ACCOUNTS),
)
def add_contact(request: HttpRequest, account_id: int, payload: ContactIn) -> Any:
    account = get_object_or_404(Account, pk=account_id)
    try:
        contact = services.create_contact(account, _actor(request), via="api", **payload.dict())
    except ValidationError as exc:
        return _refused(exc)
    return Status(201, contact)


@router.patch(
    "/{int:account_id}/contacts/{int:contact_id}",
    response={200: ContactOut, 422: ErrorOut},
    auth=role(Capability.EDIT_ACCOUNTS),
)
def patch_contact(request: HttpRequest, account_id: int, contact_id: int, payload: ContactPatch) -> Any:
    contact = get_object_or_404(Contact, pk=contact_id, account_id=account_id)
    changes = payload.dict(exclude_unset=True)
    refused = _not_null(changes, ("name", "role", "is_primary"), ("name_kana", "email", "phone", "title"))
    if refused:
        return refused
    try:
        contact = services.update_contact(contact, _actor(request), via="api", **changes)
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, contact)


@router.post(
    "/{int:account_id}/contacts/{int:contact_id}/left",
    response={200: ContactOut, 422: ErrorOut},
    auth=role(Capability.EDIT_ACCOUNTS),
)
def contact_left(request: HttpRequest, account_id: int, contact_id: int, payload: ContactLeftIn) -> Any:
    """Record that the contact left, handing over to `successor_id` or to a `new_successor` added now;
    a primary contact's successor becomes primary. Returns the contact who left."""
    contact = get_object_or_404(Contact, pk=contact_id, account_id=account_id)
    left_on = payload.left_on or timezone.localdate()
    try:
        if payload.new_successor is not None:
            if payload.successor_id is not None:
                return Status(422, {"detail": {"successor": [_("Give successor_id or new_successor, not both.")]}})
            services.hand_over_to_new_contact(
                contact, left_on, _actor(request), via="api", **payload.new_successor.dict()
            )
        else:
            successor = None
            if payload.successor_id is not None:
                successor = Contact.objects.filter(pk=payload.successor_id).first()
                if successor is None:
                    return Status(422, {"detail": {"successor": [_("No such contact.")]}})
            services.mark_contact_left(contact, successor, left_on, _actor(request), via="api")
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, Contact.objects.get(pk=contact.pk))


@router.post(
    "/{int:account_id}/contracts",
    response={201: ContractOut, 422: ErrorOut},
    auth=role(Capability.EDIT_ACCOUNTS),
)
def add_contract(request: HttpRequest, account_id: int, payload: ContractIn) -> Any:
    account = get_object_or_404(Account, pk=account_id)
    try:
        contract = services.create_contract(account, _actor(request), via="api", **payload.dict())
    except ValidationError as exc:
        return _refused(exc)
    return Status(201, contract)


@router.patch(
    "/{int:account_id}/contracts/{int:contract_id}",
    response={200: ContractOut, 422: ErrorOut},
    auth=role(Capability.EDIT_ACCOUNTS),
)
def patch_contract(request: HttpRequest, account_id: int, contract_id: int, payload: ContractPatch) -> Any:
    contract = get_object_or_404(Contract, pk=contract_id, account_id=account_id)
    changes = payload.dict(exclude_unset=True)
    refused = _not_null(changes, ("plan", "mrr", "start_date", "auto_renew", "status"), ("churn_reason",))
    if refused:
        return refused
    try:
        contract = services.update_contract(contract, _actor(request), via="api", **changes)
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, contract)
