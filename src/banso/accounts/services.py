"""Account actions: finding, creating and changing accounts, contacts and contracts, their roll-ups,
the Account 360 timeline and the audit trail shown per account."""

import datetime
import heapq
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.labels import event_kind_label
from banso.core.models import AuditEntry, User
from banso.core.money import format_yen
from banso.core.services import record_change, snapshot
from banso.core.text import normalise

from .choices import ContractStatus
from .models import MANUAL_SOURCE, Account, Contact, Contract

LIVE_CONTRACT_STATUSES = (ContractStatus.ACTIVE, ContractStatus.PENDING)
PAGE_SIZE = 50
TIMELINE_LIMIT = 50

# What a person may change on an account or a contact; everything else is owned by imports or roll-ups.
ACCOUNT_EDITABLE_FIELDS = ("name", "name_kana", "kind", "owner", "tier", "lifecycle_stage", "industry", "attributes")
CONTACT_EDITABLE_FIELDS = ("name", "name_kana", "email", "phone", "title", "role", "is_primary")
CONTACT_AUDITED_FIELDS = (*CONTACT_EDITABLE_FIELDS, "left_on", "successor")
CONTRACT_EDITABLE_FIELDS = (
    "plan",
    "mrr",
    "start_date",
    "end_date",
    "renewal_date",
    "auto_renew",
    "status",
    "churned_on",
    "churn_reason",
)


def refresh_rollups(account_ids: Iterable[int] | None = None, *, today: datetime.date | None = None) -> int:
    """Recompute `Account.mrr` (sum of live contracts) and `next_renewal_date` (earliest upcoming renewal
    of a live contract) in one UPDATE; `None` refreshes every account. Returns the number updated."""
    today = today or timezone.localdate()
    live = Contract.objects.filter(account=OuterRef("pk"), status__in=LIVE_CONTRACT_STATUSES)
    mrr = live.order_by().values("account").annotate(total=Sum("mrr")).values("total")
    renewal = (
        live.filter(renewal_date__gte=today).order_by().values("account").annotate(first=Min("renewal_date"))
    ).values("first")
    accounts = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=list(account_ids))
    return accounts.update(mrr=Coalesce(Subquery(mrr), Value(0)), next_renewal_date=Subquery(renewal))


# --- The account list -------------------------------------------------------------------------------


# Sort keys offered to users → ORDER BY. Every ordering ends in the primary key so pages are stable,
# and each leading column is indexed: (name_kana, id) exactly, mrr and next_renewal_date followed by an
# incremental sort of ties. updated_at has no index yet (a top-N sort; see the issue).
SORTS: dict[str, tuple[Any, ...]] = {
    "name": ("name_kana", "id"),
    "-name": ("-name_kana", "-id"),
    "mrr": ("mrr", "id"),
    "-mrr": ("-mrr", "-id"),
    "renewal": (F("next_renewal_date").asc(nulls_last=True), "id"),
    "-renewal": (F("next_renewal_date").desc(nulls_last=True), "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}
DEFAULT_SORT = "name"
NO_OWNER = "none"


@dataclass(frozen=True)
class AccountFilters:
    """What the list is narrowed by; the page's form and the API both build one of these."""

    owner: int | str | None = None  # a user id, or NO_OWNER for unassigned accounts
    kind: str = ""
    tier: str = ""
    stage: str = ""
    renewal_month: str = ""  # YYYY-MM, matched against next_renewal_date
    q: str = ""
    sort: str = DEFAULT_SORT


def parse_month(value: str) -> tuple[datetime.date, datetime.date]:
    """'2025-04' → (2025-04-01, 2025-05-01); ValueError for anything else."""
    try:
        year_text, month_text = value.split("-")
        first = datetime.date(int(year_text), int(month_text), 1)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a month (YYYY-MM): {value!r}") from exc
    following = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def account_queryset(filters: AccountFilters) -> QuerySet[Account]:
    """Accounts matching `filters`, in the requested order, with the owner joined (one query per page)."""
    qs = Account.objects.select_related("owner").defer("attributes", "search_text")
    if filters.owner == NO_OWNER:
        qs = qs.filter(owner__isnull=True)
    elif filters.owner is not None and filters.owner != "":
        qs = qs.filter(owner_id=int(filters.owner))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.tier:
        qs = qs.filter(tier=filters.tier)
    if filters.stage:
        qs = qs.filter(lifecycle_stage=filters.stage)
    if filters.renewal_month:
        first, following = parse_month(filters.renewal_month)
        qs = qs.filter(next_renewal_date__gte=first, next_renewal_date__lt=following)
    if filters.q:
        key = normalise(filters.q)
        if key:
            qs = qs.filter(search_text__contains=key)
    return qs.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


def owner_choices() -> QuerySet[User]:
    """The people accounts can be assigned to."""
    from banso.core.choices import Role

    return User.objects.filter(is_active=True, role__in=[Role.CSM, Role.OPS_MANAGER, Role.ADMIN]).order_by(
        "display_name", "username"
    )


# --- Account 360 ------------------------------------------------------------------------------------


def account_360(pk: int) -> tuple[Account, list[Contact], list[Contract]]:
    """The account with its owner, its contacts (successors joined) and its contracts: three queries."""
    account = Account.objects.select_related("owner").get(pk=pk)
    contacts = list(
        account.contacts.select_related("successor").order_by(
            F("left_on").asc(nulls_first=True), "-is_primary", "name_kana", "id"
        )
    )
    contracts = list(account.contracts.all())
    return account, contacts, contracts


def successor_chains(contacts: Sequence[Contact]) -> dict[int, list[Contact]]:
    """For each contact who left: the people who took over after them, in order, ending at whoever is
    reachable now. Computed from the already-loaded list, so no query per contact."""
    by_id = {c.pk: c for c in contacts}
    chains: dict[int, list[Contact]] = {}
    for contact in contacts:
        chain: list[Contact] = []
        seen = {contact.pk}
        nxt = contact.successor_id
        while nxt is not None and nxt not in seen:
            seen.add(nxt)
            successor = by_id.get(nxt)
            if successor is None:
                break
            chain.append(successor)
            nxt = successor.successor_id
        if chain:
            chains[contact.pk] = chain
    return chains


# --- Changes, all audited ---------------------------------------------------------------------------


def _apply(obj: Any, changes: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    for name, value in changes.items():
        if name in ("owner", "successor") and (value is None or isinstance(value, int)):
            setattr(obj, f"{name}_id", value)
        else:
            setattr(obj, name, value)


def _save_audited(
    obj: Account | Contact | Contract,
    before: dict[str, Any],
    fields: Iterable[str],
    *,
    actor: User | None,
    via: str,
    account_id: int,
) -> bool:
    """Save `obj` and write its audit entry if an audited field differs from `before`; True when saved.
    An edit that changes nothing touches neither the row nor the log."""
    after = snapshot(obj, fields)
    if before == after:
        return False
    obj.updated_at = timezone.now()
    obj.save()
    record_change(
        actor=actor, obj=obj, action=AuditAction.UPDATE, before=before, after=after, account_id=account_id, via=via
    )
    return True


def update_account(account: Account, actor: User | None, *, via: str = "ui", **changes: Any) -> Account:
    """Change an account's editable fields and write one audit entry with each field before and after.

    `owner` may be a User or a user id. Invalid values raise ValidationError naming the field, and
    nothing is written."""
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        before = snapshot(locked, ACCOUNT_EDITABLE_FIELDS)
        _apply(locked, changes, ACCOUNT_EDITABLE_FIELDS)
        if locked.owner_id is not None and not User.objects.filter(pk=locked.owner_id).exists():
            raise ValidationError({"owner": _("No such user.")})
        locked.full_clean(exclude=["owner", "portal_users"], validate_unique=False, validate_constraints=False)
        _save_audited(locked, before, ACCOUNT_EDITABLE_FIELDS, actor=actor, via=via, account_id=locked.pk)
    return locked


def create_contact(account: Account, actor: User | None, *, via: str = "ui", **values: Any) -> Contact:
    with transaction.atomic():
        contact = Contact(account=account, source=MANUAL_SOURCE, external_id=_manual_external_id())
        _apply(contact, values, CONTACT_EDITABLE_FIELDS)
        contact.full_clean(exclude=["account", "successor"], validate_unique=False, validate_constraints=False)
        contact.save()
        if contact.is_primary:
            _demote_other_primaries(contact, actor, via)
        record_change(
            actor=actor,
            obj=contact,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(contact, CONTACT_AUDITED_FIELDS),
            account_id=account.pk,
            via=via,
        )
    return contact


def update_contact(contact: Contact, actor: User | None, *, via: str = "ui", **changes: Any) -> Contact:
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        before = snapshot(locked, CONTACT_AUDITED_FIELDS)
        _apply(locked, changes, CONTACT_EDITABLE_FIELDS)
        locked.full_clean(exclude=["account", "successor"], validate_unique=False, validate_constraints=False)
        saved = _save_audited(
            locked, before, CONTACT_AUDITED_FIELDS, actor=actor, via=via, account_id=locked.account_id
        )
        if saved and locked.is_primary and not before["is_primary"]:
            _demote_other_primaries(locked, actor, via)
    return locked


def mark_contact_left(
    contact: Contact,
    successor: Contact | None,
    left_on: datetime.date,
    actor: User | None,
    *,
    via: str = "ui",
) -> Contact:
    """Record that a contact left on `left_on`, handing over to `successor` (担当者変更 → 後任).

    A primary contact's successor becomes primary. The successor must belong to the same account and
    must not lead back to the person leaving."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if successor is not None:
            if successor.account_id != locked.account_id:
                raise ValidationError({"successor": _("The successor must belong to the same account.")})
            if successor.pk == locked.pk or _leads_to(successor, locked.pk):
                raise ValidationError({"successor": _("The successor cannot be this contact or hand back to them.")})
            if successor.left_on is not None:
                raise ValidationError({"successor": _("The successor has left too.")})
        before = snapshot(locked, CONTACT_AUDITED_FIELDS)
        was_primary = locked.is_primary
        locked.left_on = left_on
        locked.successor = successor
        locked.is_primary = False
        _save_audited(locked, before, CONTACT_AUDITED_FIELDS, actor=actor, via=via, account_id=locked.account_id)
        if was_primary and successor is not None and not successor.is_primary:
            update_contact(successor, actor, via=via, is_primary=True)
    return locked


def current_colleagues(contact: Contact) -> QuerySet[Contact]:
    """The account's other contacts who have not left: who can take over from `contact`."""
    return Contact.objects.filter(account_id=contact.account_id, left_on__isnull=True).exclude(pk=contact.pk)


def hand_over_to_new_contact(
    contact: Contact, left_on: datetime.date, actor: User | None, *, via: str = "ui", **successor_values: Any
) -> Contact:
    """Record that a contact left and hand over to someone not yet on file: the successor is created on
    the same account (taking the leaver's role unless another is given) and `mark_contact_left` does
    the rest. Both happen or neither does. Returns the new successor."""
    with transaction.atomic():
        successor_values.setdefault("role", contact.role)
        successor = create_contact(contact.account, actor, via=via, **successor_values)
        mark_contact_left(contact, successor, left_on, actor, via=via)
        successor.refresh_from_db()
    return successor


def _manual_external_id() -> str:
    # Hand-entered records have no outside id; a random one keeps (source, external_id) unique.
    return uuid.uuid4().hex


def _leads_to(start: Contact, target_pk: int) -> bool:
    ids = dict(Contact.objects.filter(account_id=start.account_id).values_list("pk", "successor_id"))
    seen: set[int] = set()
    current: int | None = start.successor_id
    while current is not None and current not in seen:
        if current == target_pk:
            return True
        seen.add(current)
        current = ids.get(current)
    return False


def _demote_other_primaries(contact: Contact, actor: User | None, via: str) -> None:
    others = Contact.objects.filter(account_id=contact.account_id, is_primary=True).exclude(pk=contact.pk)
    for other in others.select_for_update():
        before = snapshot(other, CONTACT_AUDITED_FIELDS)
        other.is_primary = False
        other.save(update_fields=["is_primary"])
        record_change(
            actor=actor,
            obj=other,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(other, CONTACT_AUDITED_FIELDS),
            account_id=other.account_id,
            via=via,
        )


def create_contract(account: Account, actor: User | None, *, via: str = "ui", **fields: Any) -> Contract:
    """Add a contract by hand, audit it and refresh the account's MRR and next renewal.

    Invalid values raise ValidationError naming the field, and nothing is written."""
    with transaction.atomic():
        _lock_rollups(account.pk)
        contract = Contract(account=account, source=MANUAL_SOURCE, external_id=_manual_external_id())
        _apply(contract, fields, CONTRACT_EDITABLE_FIELDS)
        _check_contract(contract, explicit_churn_date="churned_on" in fields)
        contract.save()
        record_change(
            actor=actor,
            obj=contract,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(contract, CONTRACT_EDITABLE_FIELDS),
            account_id=account.pk,
            via=via,
        )
        refresh_rollups([account.pk])
    return contract


def update_contract(contract: Contract, actor: User | None, *, via: str = "ui", **changes: Any) -> Contract:
    """Change a contract's fields, write one audit entry with each field before and after, and refresh
    the account's roll-ups. A contract leaving the churned status loses its churn date and reason."""
    with transaction.atomic():
        _lock_rollups(contract.account_id)
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        before = snapshot(locked, CONTRACT_EDITABLE_FIELDS)
        _apply(locked, changes, CONTRACT_EDITABLE_FIELDS)
        if before["status"] == ContractStatus.CHURNED and locked.status != ContractStatus.CHURNED:
            # A won-back or corrected contract: a stale churn date would still show on the timeline.
            if "churned_on" not in changes:
                locked.churned_on = None
            if "churn_reason" not in changes:
                locked.churn_reason = ""
        _check_contract(locked, explicit_churn_date="churned_on" in changes)
        if _save_audited(locked, before, CONTRACT_EDITABLE_FIELDS, actor=actor, via=via, account_id=locked.account_id):
            refresh_rollups([locked.account_id])
    return locked


def _lock_rollups(account_id: int) -> None:
    # Contract writers on one account take turns, so each roll-up sums the contracts the last one wrote.
    Account.objects.select_for_update().only("pk").get(pk=account_id)


def _check_contract(contract: Contract, *, explicit_churn_date: bool) -> None:
    """The rules a contract keeps however it is written; raises one ValidationError naming every field."""
    errors: dict[str, list[str]] = {}
    mrr = contract.mrr
    # Checked before full_clean, which would silently truncate 1.5 to 1.
    if not isinstance(mrr, int) or isinstance(mrr, bool) or mrr < 0:
        errors["mrr"] = [_("Enter the MRR as a whole number of yen, zero or more.")]
    try:
        contract.full_clean(exclude=["account", *errors], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    start = contract.start_date if "start_date" not in errors else None
    if start is not None:
        if contract.renewal_date is not None and "renewal_date" not in errors and contract.renewal_date < start:
            errors["renewal_date"] = [_("The renewal date cannot be before the start date.")]
        if contract.end_date is not None and "end_date" not in errors and contract.end_date < start:
            errors["end_date"] = [_("The end date cannot be before the start date.")]
    if "status" not in errors and "churned_on" not in errors:
        if contract.status == ContractStatus.CHURNED and contract.churned_on is None:
            errors["churned_on"] = [_("A churned contract needs the date it churned.")]
        elif contract.status != ContractStatus.CHURNED and contract.churned_on is not None and explicit_churn_date:
            errors["churned_on"] = [_("Only a churned contract has a churn date.")]
    if errors:
        raise ValidationError(errors)


# --- The audit trail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: str
    after: str


_MODELS_BY_LABEL = {"accounts.account": Account, "accounts.contact": Contact, "accounts.contract": Contract}


def describe_changes(entries: Sequence[AuditEntry]) -> dict[int, list[FieldChange]]:
    """Each entry's changes with field names and values as people read them (choice labels, user and
    contact names), resolving every referenced user and contact in one query each."""
    user_ids: set[int] = set()
    contact_ids: set[int] = set()
    for entry in entries:
        for name, pair in entry.changes.items():
            target = user_ids if name == "owner" else contact_ids if name == "successor" else None
            if target is not None:
                target.update(v for v in pair if isinstance(v, int))
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    contacts = dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "name")) if contact_ids else {}

    def show(model: Any, name: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if name == "owner":
            return users.get(value, f"#{value}")
        if name == "successor":
            return contacts.get(value, f"#{value}")
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if model is not None:
            try:
                f = model._meta.get_field(name)
            except Exception:  # an old entry may name a field that no longer exists
                return str(value)
            if f.choices:
                return str(dict(f.flatchoices).get(value, value))
        return str(value)

    out: dict[int, list[FieldChange]] = {}
    for entry in entries:
        model = _MODELS_BY_LABEL.get(entry.object_type)
        rows = []
        for name in sorted(entry.changes):
            before, after = entry.changes[name]
            label = name
            if model is not None:
                try:
                    label = str(getattr(model._meta.get_field(name), "verbose_name", name))
                except Exception:
                    label = name
            rows.append(FieldChange(name, label, show(model, name, before), show(model, name, after)))
        out[entry.pk] = rows
    return out


def account_audit(account_id: int, limit: int = 200) -> list[tuple[AuditEntry, list[FieldChange]]]:
    """The latest changes to an account and its contacts and contracts, newest first."""
    entries = list(AuditEntry.objects.filter(account_id=account_id).select_related("actor")[:limit])
    described = describe_changes(entries)
    return [(entry, described[entry.pk]) for entry in entries]


# --- The unified timeline ---------------------------------------------------------------------------

# At the same instant, later sources sort first: a change someone made, then contact and contract
# milestones, then product events. (rank, id) break ties so a cursor never skips or repeats an item.
RANK_EVENT, RANK_CONTRACT, RANK_CONTACT, RANK_AUDIT = 1, 2, 3, 4


@dataclass(frozen=True)
class Cursor:
    at: datetime.datetime
    rank: int
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        try:
            at_text, rank_text, id_text = raw.split("~")
            at = datetime.datetime.fromisoformat(at_text)
            if at.tzinfo is None:
                raise ValueError("naive")
            return cls(at, int(rank_text), int(id_text))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"bad timeline cursor: {raw!r}") from exc


@dataclass
class TimelineItem:
    at: datetime.datetime
    rank: int
    id: int
    kind: str  # event | contract | contact | audit
    title: str
    detail: str = ""
    actor: str = ""
    all_day: bool = False
    upcoming: bool = False
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def key(self) -> tuple[datetime.datetime, int, int]:
        return (self.at, self.rank, self.id)


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    next_cursor: str | None


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _before_q(time_field: str, rank: int, cursor: Cursor | None) -> Q:
    """SQL for 'strictly after the cursor' in newest-first order, for a source of the given rank."""
    if cursor is None:
        return Q()
    if rank < cursor.rank:
        return Q(**{f"{time_field}__lte": cursor.at})
    if rank > cursor.rank:
        return Q(**{f"{time_field}__lt": cursor.at})
    # Written as a range plus a tie-break so the (account, time desc) index bounds the scan.
    return Q(**{f"{time_field}__lte": cursor.at}) & (Q(**{f"{time_field}__lt": cursor.at}) | Q(id__lt=cursor.id))


def _contract_items(contracts: Iterable[Contract], today: datetime.date) -> list[TimelineItem]:
    items = []
    for c in contracts:
        money = format_yen(c.mrr)
        milestones = [
            (c.start_date, _("Contract started: %(plan)s"), money),
            (c.renewal_date, _("Contract renewal: %(plan)s"), money),
            (c.churned_on, _("Churned: %(plan)s"), c.churn_reason),
        ]
        for offset, (day, title, detail) in enumerate(milestones):
            if day is None:
                continue
            items.append(
                TimelineItem(
                    _day_start(day),
                    RANK_CONTRACT,
                    c.pk * 3 + offset,
                    "contract",
                    title % {"plan": c.plan},
                    detail,
                    all_day=True,
                    upcoming=day > today,
                )
            )
    return items


def _contact_items(contacts: Iterable[Contact], today: datetime.date) -> list[TimelineItem]:
    items = []
    for c in contacts:
        items.append(
            TimelineItem(
                c.created_at,
                RANK_CONTACT,
                c.pk * 2,
                "contact",
                _("Contact added: %(name)s") % {"name": c.name},
                c.title,
            )
        )
        if c.left_on:
            detail = _("Successor: %(name)s") % {"name": c.successor.name} if c.successor else ""
            items.append(
                TimelineItem(
                    _day_start(c.left_on),
                    RANK_CONTACT,
                    c.pk * 2 + 1,
                    "contact",
                    _("Contact left: %(name)s") % {"name": c.name},
                    detail,
                    all_day=True,
                    upcoming=c.left_on > today,
                )
            )
    return items


def _event_detail(event: Any) -> str:
    parts = []
    if event.value is not None:
        parts.append(f"{event.value.normalize():f}")
    for key, value in list((event.properties or {}).items())[:3]:
        parts.append(f"{key}: {value}")
    return " · ".join(parts)


def timeline(
    account: Account,
    before: str | Cursor | None = None,
    limit: int = TIMELINE_LIMIT,
    *,
    contacts: Sequence[Contact] | None = None,
    contracts: Sequence[Contract] | None = None,
) -> TimelinePage:
    """The latest `limit` things that happened to an account, newest first: product events, contract
    milestones (start, renewal, churn), contact changes and audited edits, merged by time.

    `before` is the cursor from the previous page. Events and audit entries are read through their
    (account, time desc) indexes with LIMIT, so the cost does not grow with the account's history;
    pass the 360 page's already-loaded contacts and contracts to save two queries."""
    cursor = Cursor.decode(before) if isinstance(before, str) else before
    limit = max(1, min(limit, 200))
    today = timezone.localdate()
    if contacts is None:
        contacts = list(account.contacts.select_related("successor"))
    if contracts is None:
        contracts = list(account.contracts.all())

    # Through the reverse relation: activity sits above accounts, so accounts does not import it.
    events = (
        account.events.all()
        .filter(_before_q("occurred_at", RANK_EVENT, cursor))
        .order_by("-occurred_at", "-id")
        .only("id", "account_id", "kind", "occurred_at", "value", "properties")[: limit + 1]
    )
    audits = list(
        AuditEntry.objects.filter(account_id=account.pk)
        .filter(_before_q("at", RANK_AUDIT, cursor))
        .select_related("actor")
        .order_by("-at", "-id")[: limit + 1]
    )
    described = describe_changes(audits)
    action_titles: dict[str, str] = {
        AuditAction.CREATE: _("%(object)s created"),
        AuditAction.UPDATE: _("%(object)s changed"),
        AuditAction.DELETE: _("%(object)s deleted"),
    }

    def event_items() -> Iterator[TimelineItem]:
        for e in events:
            yield TimelineItem(e.occurred_at, RANK_EVENT, e.pk, "event", event_kind_label(e.kind), _event_detail(e))

    def audit_items() -> Iterator[TimelineItem]:
        for a in audits:
            title = action_titles.get(a.action, "%(object)s") % {"object": a.object_repr}
            yield TimelineItem(
                a.at, RANK_AUDIT, a.pk, "audit", title, actor=str(a.actor or ""), changes=described[a.pk]
            )

    def after_cursor(items: list[TimelineItem]) -> list[TimelineItem]:
        kept = [i for i in items if cursor is None or i.key < (cursor.at, cursor.rank, cursor.id)]
        return sorted(kept, key=lambda i: i.key, reverse=True)

    merged = heapq.merge(
        event_items(),
        audit_items(),
        after_cursor(_contract_items(contracts, today)),
        after_cursor(_contact_items(contacts, today)),
        key=lambda i: i.key,
        reverse=True,
    )
    page: list[TimelineItem] = []
    for item in merged:
        page.append(item)
        if len(page) > limit:
            break
    more = len(page) > limit
    page = page[:limit]
    next_cursor = Cursor(page[-1].at, page[-1].rank, page[-1].id).encode() if more and page else None
    return TimelinePage(page, next_cursor)
