"""Logging touches: one contact with a customer and everything it sets going — a successor who becomes the
contact to reach, the plan target it worked on, the renewal it advanced, the next step — in one transaction.
Also what each touch tier expects: how many days an account may go without a touch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.accounts import services as accounts
from banso.accounts.models import Account, Contact
from banso.core.calendar import add_business_days, month_start
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .models import CoverageTarget, Renewal, RenewalStage, SuccessSettings, Touch, TouchChannel, TouchOutcome
from .services import days_since, last_touches

# A touch may be logged a little ahead of the server's clock (a laptop's clock runs fast), never more.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
TOUCH_AUDITED_FIELDS = (
    "channel",
    "outcome",
    "occurred_at",
    "contact",
    "csm",
    "note",
    "successor",
    "next_step",
    "next_step_due",
    "next_step_done_at",
    "target",
)
RENEWAL_AUDITED_FIELDS = ("stage", "renewed_mrr", "closed_on", "note")
NEW_SUCCESSOR_FIELDS = ("name", "email", "phone", "title")

# The next step an outcome calls for when the person logging gives none: the text, and the business days
# after the touch it is due (None: the date the customer asked for, which must then be given).
# The support desk (issue 7) does not exist yet: a question's next step is to answer it, not an inquiry.
SUGGESTED_NEXT_STEPS: dict[str, tuple[Any, int | None]] = {
    TouchOutcome.OTHER_DATE: (gettext_lazy("Follow up on the date the customer asked for"), None),
    TouchOutcome.QUESTION: (gettext_lazy("Answer the customer's question"), 1),
    TouchOutcome.CONTACT_CHANGED: (gettext_lazy("Introduce yourself to the successor"), 2),
    TouchOutcome.NO_REACTION: (gettext_lazy("Try to reach the customer again"), 3),
}


def suggested_next_step(outcome: str, day: dt.date, requested: dt.date | None = None) -> tuple[str, dt.date | None]:
    """The next step an outcome calls for on `day` ("" when none)."""
    if outcome not in SUGGESTED_NEXT_STEPS:
        return "", None
    text, business_days = SUGGESTED_NEXT_STEPS[outcome]
    due = requested if business_days is None else add_business_days(day, business_days)
    return str(text), due


def _check(
    account: Account,
    *,
    channel: str,
    outcome: str,
    occurred_at: dt.datetime,
    contact: Contact | None,
    successor: Contact | None,
    new_successor: Mapping[str, Any] | None,
    next_step_due: dt.date | None,
) -> dict[str, list[str]]:
    """Every rule a touch keeps, however it is logged; the refusals by field ({} when all is well)."""
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if channel not in TouchChannel.values:
        refuse("channel", _("Choose how the customer was contacted."))
    if outcome not in TouchOutcome.values:
        refuse("outcome", _("Choose the outcome."))
    if timezone.is_naive(occurred_at):
        refuse("occurred_at", _("Give the time with its time zone."))
    elif occurred_at > timezone.now() + FUTURE_TOLERANCE:
        refuse("occurred_at", _("A touch cannot be logged in the future."))
    if contact is not None and contact.account_id != account.pk:
        refuse("contact", _("This contact belongs to another account."))
    day = timezone.localdate(occurred_at) if timezone.is_aware(occurred_at) else None
    if next_step_due is not None and day is not None and next_step_due < day:
        refuse("next_step_due", _("The next step cannot be due before the touch."))
    has_new = bool(new_successor and any(new_successor.get(k) for k in NEW_SUCCESSOR_FIELDS))
    if outcome == TouchOutcome.CONTACT_CHANGED:
        if contact is None:
            refuse("contact", _("Choose the contact who is leaving."))
        elif contact.left_on is not None and "contact" not in errors:
            refuse("contact", _("This contact has already left."))
        if successor is None and not has_new:
            refuse("successor", _("Choose the successor or enter the new person."))
        elif successor is not None and has_new:
            refuse("successor", _("Choose a successor on file or enter a new person, not both."))
        elif has_new and new_successor is not None and not (new_successor.get("name") or "").strip():
            refuse("new_successor_name", _("Enter the successor's name."))
        if successor is not None and contact is not None and successor.pk == contact.pk:
            refuse("successor", _("The successor cannot be the contact who is leaving."))
    elif successor is not None or has_new:
        refuse("successor", _("A successor is recorded only when the contact person changed."))
    if outcome == TouchOutcome.OTHER_DATE and next_step_due is None:
        refuse("next_step_due", _("Enter the date the customer asked for."))
    return errors


def log_touch(
    account: Account,
    actor: User | None,
    *,
    channel: str,
    outcome: str,
    occurred_at: dt.datetime | None = None,
    contact: Contact | None = None,
    note: str = "",
    successor: Contact | None = None,
    new_successor: Mapping[str, Any] | None = None,
    next_step: str = "",
    next_step_due: dt.date | None = None,
    csm: User | None = None,
    via: str = "ui",
) -> Touch:
    """Record a touch on `account` and its consequences, all or nothing.

    A changed contact person hands over to `successor` (someone on file) or `new_successor` ({name, email,
    phone, title}, added to the account); the successor becomes the contact to reach (primary if the leaver
    was). The touch is linked to the account's target on the plan of its month, the account's open renewals
    move on (to contacted; to appointment set on an appointment), and an outcome that calls for a next step
    gets one when none is given. Refusals raise ValidationError naming the field."""
    occurred_at = occurred_at or timezone.now()
    errors = _check(
        account,
        channel=channel,
        outcome=outcome,
        occurred_at=occurred_at,
        contact=contact,
        successor=successor,
        new_successor=new_successor,
        next_step_due=next_step_due,
    )
    if errors:
        raise ValidationError(errors)
    day = timezone.localdate(occurred_at)
    if not next_step.strip():
        suggested, due = suggested_next_step(outcome, day, next_step_due)
        next_step, next_step_due = suggested, next_step_due or due
    with transaction.atomic():
        if outcome == TouchOutcome.CONTACT_CHANGED:
            assert contact is not None
            successor = _hand_over(contact, successor, new_successor, day, actor, via)
        touch = Touch(
            account=account,
            contact=contact,
            csm=csm or actor,
            channel=channel,
            outcome=outcome,
            occurred_at=occurred_at,
            note=note,
            successor=successor,
            next_step=next_step.strip()[:200],
            next_step_due=next_step_due if next_step.strip() else None,
            target=_plan_target(account, day),
            created_by=actor,
        )
        touch.save()
        record_change(
            actor=actor,
            obj=touch,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(touch, TOUCH_AUDITED_FIELDS),
            account_id=account.pk,
            via=via,
        )
        _advance_renewals(account, outcome, actor, via)
    return touch


def _hand_over(
    leaver: Contact,
    successor: Contact | None,
    new_successor: Mapping[str, Any] | None,
    day: dt.date,
    actor: User | None,
    via: str,
) -> Contact:
    if successor is not None:
        accounts.mark_contact_left(leaver, successor, day, actor, via=via)
        successor.refresh_from_db()
        return successor
    values = {k: (new_successor or {}).get(k) or "" for k in NEW_SUCCESSOR_FIELDS}
    try:
        return accounts.hand_over_to_new_contact(leaver, day, actor, via=via, **values)
    except ValidationError as exc:
        # The contact rules name the contact's fields; the touch's caller knows them as the successor's.
        if hasattr(exc, "error_dict"):
            raise ValidationError(
                {f"new_successor_{name}": messages for name, messages in exc.message_dict.items()}
            ) from exc
        raise


def _plan_target(account: Account, day: dt.date) -> CoverageTarget | None:
    return CoverageTarget.objects.filter(plan__month=month_start(day), account=account).first()


def _advance_renewals(account: Account, outcome: str, actor: User | None, via: str) -> None:
    """Move the account's open renewals forward, never back: contacted on any touch, appointment set on an
    appointment."""
    moves = {RenewalStage.NOT_CONTACTED: RenewalStage.CONTACTED}
    if outcome == TouchOutcome.APPOINTMENT:
        moves = dict.fromkeys((RenewalStage.NOT_CONTACTED, RenewalStage.CONTACTED), RenewalStage.APPOINTMENT_SET)
    for renewal in Renewal.objects.select_for_update().filter(account=account, stage__in=list(moves)):
        before = snapshot(renewal, RENEWAL_AUDITED_FIELDS)
        renewal.stage = moves[RenewalStage(renewal.stage)]
        renewal.updated_at, renewal.updated_by = timezone.now(), actor
        renewal.save(update_fields=["stage", "updated_at", "updated_by"])
        record_change(
            actor=actor,
            obj=renewal,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(renewal, RENEWAL_AUDITED_FIELDS),
            account_id=account.pk,
            via=via,
        )


class BulkTouchError(ValidationError):
    """Some accounts refused the touch; nothing was logged. `rows` pairs each account with its refusals."""

    def __init__(self, rows: list[tuple[Account, dict[str, list[str]]]]) -> None:
        self.rows = rows
        super().__init__(
            [
                f"{account.name}: " + "; ".join(m for messages in errors.values() for m in messages)
                for account, errors in rows
            ]
        )


def log_bulk(accounts_: Sequence[Account], actor: User | None, **fields: Any) -> list[Touch]:
    """The same touch on each of `accounts_` (contact: each account's primary contact), all or none.

    A changed contact person needs a successor per account, so it is logged one account at a time."""
    if fields.get("outcome") == TouchOutcome.CONTACT_CHANGED:
        raise ValidationError({"outcome": _("Log a change of contact person on the account itself.")})
    if not accounts_:
        raise ValidationError({"accounts": _("Choose at least one account.")})
    primaries = primary_contacts([a.pk for a in accounts_])
    failed: list[tuple[Account, dict[str, list[str]]]] = []
    touches: list[Touch] = []
    with transaction.atomic():
        for account in accounts_:
            try:
                with transaction.atomic():
                    touches.append(log_touch(account, actor, contact=primaries.get(account.pk), **fields))
            except ValidationError as exc:
                failed.append((account, exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}))
        if failed:
            transaction.set_rollback(True)
    if failed:
        raise BulkTouchError(failed)
    return touches


def complete_next_step(touch: Touch, actor: User | None, *, via: str = "ui") -> Touch:
    """Mark the touch's next step done (once; again changes nothing)."""
    if not touch.next_step:
        raise ValidationError({"next_step": _("This touch has no next step.")})
    with transaction.atomic():
        locked = Touch.objects.select_for_update().get(pk=touch.pk)
        if locked.next_step_done_at is None:
            before = snapshot(locked, TOUCH_AUDITED_FIELDS)
            locked.next_step_done_at = timezone.now()
            locked.save(update_fields=["next_step_done_at"])
            record_change(
                actor=actor,
                obj=locked,
                action=AuditAction.UPDATE,
                before=before,
                after=snapshot(locked, TOUCH_AUDITED_FIELDS),
                account_id=locked.account_id,
                via=via,
            )
    return locked


def touches_for(account: Account, limit: int = 5) -> list[Touch]:
    """The account's latest touches with who made them and whom they reached."""
    return list(Touch.objects.filter(account=account).select_related("csm", "contact", "successor")[:limit])


def open_next_steps(account: Account) -> list[Touch]:
    return list(
        Touch.objects.filter(account=account, next_step_done_at__isnull=True)
        .exclude(next_step="")
        .select_related("csm")
        .order_by("next_step_due", "id")
    )


def primary_contacts(account_ids: Sequence[int]) -> dict[int, Contact]:
    """Each account's current primary contact (one query), for defaulting whom a touch reached."""
    contacts = Contact.objects.filter(account_id__in=list(account_ids), is_primary=True, left_on__isnull=True)
    return {c.account_id: c for c in contacts.order_by("id")}


@dataclass(frozen=True)
class ContactRule:
    """What the account's tier expects and where it stands: at most `max_days` without a touch (0: none)."""

    tier: str
    max_days: int
    last_touch: dt.datetime | None
    days_since: int | None

    @property
    def applies(self) -> bool:
        return self.max_days > 0

    @property
    def breached(self) -> bool:
        return self.applies and (self.days_since is None or self.days_since > self.max_days)

    @property
    def days_left(self) -> int | None:
        if not self.applies or self.days_since is None:
            return None
        return self.max_days - self.days_since


def untouched_days() -> dict[str, int]:
    """The contact-frequency rule per tier, read without writing (the defaults until settings are saved)."""
    return (SuccessSettings.objects.filter(pk=1).first() or SuccessSettings()).untouched_days()


def contact_rule(account: Account, today: dt.date | None = None, latest: Touch | bool | None = False) -> ContactRule:
    """`latest`: the account's latest touch when the caller has loaded it (None: never touched), saving a query."""
    last = last_touches([account.pk]).get(account.pk) if latest is False else getattr(latest, "occurred_at", None)
    max_days = untouched_days().get(account.tier, 0)
    return ContactRule(account.tier, max_days, last, days_since(last, today))
