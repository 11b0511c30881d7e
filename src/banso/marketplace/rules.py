"""Threshold rules over provider incidents: evaluating them (set-based), the dry run each firing stores as its
plan, approving or rejecting a firing, and executing the plan item by item with its audit trail and messages.

Evaluation. For each active rule, one aggregate query counts per provider the confirmed incidents in the rule's
window (`incidents.in_window`) that this rule has not consumed yet (FiringIncident), or sums their severity when
the rule is weighted; providers at or over the threshold fire. Their upcoming bookings (booked, scheduled in
[now, now + horizon_days)) are read in one query and their alternatives ranked in one call, whatever the number
of providers. A firing is saved with its FiringIncident rows in one savepoint: the unique (rule, incident)
constraint makes a second, concurrent evaluation of the same incidents fail there, and that is read as "already
fired" — a rule never fires twice for the same incidents.

The plan is the dry run. It is fixed when the firing is created and execution follows it, never recomputing:
a booking that is no longer booked (or was moved) when the plan is executed is skipped with the reason.

Refunds. A booking a rule cancels is the provider's failure, not the customer's choice, so no cancellation fee
applies: with `refund_cancelled` the whole amount still held (amount - refunded_amount, integer yen) is due back
to the customer (`refund_due`, and the fee is set to 0); without it the booking keeps its fee and nothing is due.

Alternatives exclude every provider that fired in the same evaluation (as well as providers that do not take
bookings, which matching leaves out): customers are not sent from one problem provider to another.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.query import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core.arrowdb import insert_frame
from banso.core.choices import AuditAction
from banso.core.models import AuditEntry, RunStatus, User
from banso.core.services import change_entry, record_change, record_changes_bulk, snapshot

from . import matching
from .incidents import in_window
from .models import (
    Booking,
    BookingStatus,
    EvaluationRun,
    Firing,
    FiringIncident,
    FiringStatus,
    Incident,
    IncidentType,
    Provider,
    ProviderStatus,
    Rule,
    Severity,
)

logger = logging.getLogger("banso.marketplace.rules")

SOURCE = "marketplace"
RULE_FIELDS = (
    "name",
    "is_active",
    "incident_types",
    "min_severity",
    "window_days",
    "threshold",
    "weighted",
    "warn_provider",
    "notify_customers",
    "offer_alternatives",
    "alternatives_count",
    "hold_new_bookings",
    "cancel_upcoming",
    "refund_cancelled",
    "horizon_days",
    "requires_approval",
)
FIRING_AUDIT = ("status", "decided_by", "decision_note", "executed_at")
BOOKING_AUDIT = ("status", "cancelled_at", "cancellation_reason", "cancelled_by", "refund_due", "cancellation_fee")
MAX_HORIZON_DAYS = 365
MAX_ALTERNATIVES = 10


class RuleError(Exception):
    """A request the rules refuse; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class EvaluationResult:
    """What one evaluation did: the firings created (or, in a dry run, previewed and unsaved), how many
    providers it looked at, and how many firings were executed at once (rules without approval)."""

    firings: list[Firing] = field(default_factory=list)
    providers: int = 0
    executed: int = 0
    already_fired: int = 0


# Rules: validation and saving ----------------------------------------------------------------------------


def check_rule(rule: Rule) -> None:
    """Cross-field checks the model's own validation does not make; raises ValidationError by field."""
    errors: dict[str, str] = {}
    known = set(IncidentType.values)
    types = rule.incident_types
    if not isinstance(types, list) or any(t not in known for t in types):
        errors["incident_types"] = _("Choose incident types from the list.")
    if rule.min_severity not in Severity.values:
        errors["min_severity"] = _("Choose a severity from the list.")
    if rule.threshold < 1:
        errors["threshold"] = _("The threshold must be at least 1.")
    if not 1 <= rule.window_days <= 3650:
        errors["window_days"] = _("The window must be between 1 and 3650 days.")
    if not 1 <= rule.horizon_days <= MAX_HORIZON_DAYS:
        errors["horizon_days"] = _("The upcoming horizon must be between 1 and 365 days.")
    if rule.offer_alternatives and not 1 <= rule.alternatives_count <= MAX_ALTERNATIVES:
        errors["alternatives_count"] = _("Offer between 1 and 10 alternatives.")
    if rule.offer_alternatives and not (rule.notify_customers or rule.cancel_upcoming):
        errors["offer_alternatives"] = _("Alternatives are offered in the customer notice: also notify customers.")
    if not (rule.warn_provider or rule.notify_customers or rule.hold_new_bookings or rule.cancel_upcoming):
        errors["warn_provider"] = _("Choose at least one action.")
    if errors:
        raise ValidationError(errors)


def save_rule(rule: Rule | None, data: dict[str, Any], *, actor: User | None, via: str) -> Rule:
    """Create or update a rule from `data` (any of RULE_FIELDS), validated, with its audit entry."""
    creating = rule is None
    rule = rule or Rule()
    before = None if creating else snapshot(rule, RULE_FIELDS)
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    if isinstance(rule.incident_types, (list, tuple)):
        rule.incident_types = sorted({str(t) for t in rule.incident_types})
    rule.clean_fields()
    check_rule(rule)  # names the field before the model's constraints (which name none)
    rule.validate_constraints()
    with transaction.atomic():
        rule.updated_at = timezone.now()
        rule.save()
        record_change(
            actor=actor,
            obj=rule,
            action=AuditAction.CREATE if creating else AuditAction.UPDATE,
            before=before,
            after=snapshot(rule, RULE_FIELDS),
            account_id=None,
            via=via,
        )
    return rule


def delete_rule(rule: Rule, *, actor: User | None, via: str) -> None:
    """Delete a rule that never fired (ProtectedError otherwise: deactivate it instead), audited."""
    with transaction.atomic():
        before = snapshot(rule, RULE_FIELDS)
        pk = rule.pk
        rule.delete()
        rule.pk = pk
        record_change(
            actor=actor, obj=rule, action=AuditAction.DELETE, before=before, after=None, account_id=None, via=via
        )


# Evaluation ----------------------------------------------------------------------------------------------


def counted_incidents(rule: Rule, now: dt.datetime) -> QuerySet[Incident]:
    """The incidents `rule` counts at `now`: confirmed, in its window, of its types and severity, and not
    already consumed by one of its firings."""
    qs = in_window(now, rule.window_days, incident_types=rule.incident_types, min_severity=rule.min_severity)
    if rule.pk is not None:
        qs = qs.exclude(Exists(FiringIncident.objects.filter(rule_id=rule.pk, incident_id=OuterRef("pk"))))
    return qs


@dataclass
class _Hit:
    rule: Rule
    provider_id: int
    score: int
    incident_ids: list[int]


def _hits(rule: Rule, now: dt.datetime, provider_ids: Sequence[int] | None) -> list[_Hit]:
    """Providers reaching the rule: one grouped query with HAVING, then the incidents of those providers."""
    base = counted_incidents(rule, now)
    if provider_ids is not None:
        base = base.filter(provider_id__in=provider_ids)
    measure = Sum("severity") if rule.weighted else Count("id")
    reaching = base.values("provider_id").annotate(score=measure).filter(score__gte=rule.threshold)
    rows = base.filter(provider_id__in=reaching.values("provider_id")).values_list("provider_id", "id", "severity")
    found: dict[int, _Hit] = {}
    for pid, iid, severity in rows.order_by("provider_id", "occurred_at", "id"):
        hit = found.setdefault(pid, _Hit(rule, pid, 0, []))
        hit.incident_ids.append(iid)
        hit.score += severity if rule.weighted else 1
    # Incidents confirmed between the two queries could only add to a score; one dismissed could lower it.
    return [h for h in found.values() if h.score >= rule.threshold]


def _person(name: str, email: str) -> dict[str, str]:
    return {"name": name, "email": email or ""}


def _iso(at: dt.datetime) -> str:
    return timezone.localtime(at, matching.TOKYO).isoformat()


def _plan(
    hit: _Hit,
    account: Account,
    provider: Provider | None,
    bookings: list[Booking],
    alternatives: dict[int, list[matching.Candidate]],
) -> dict[str, Any]:
    rule = hit.rule
    email = provider.email if provider is not None else ""
    plan: dict[str, Any] = {
        "rule": {"id": rule.pk, "name": rule.name},
        "provider": {
            "id": account.pk,
            "name": account.name,
            "email": email,
            "status": provider.status if provider is not None else "",
        },
        "score": hit.score,
        "incidents": hit.incident_ids,
        "warn": bool(rule.warn_provider),
        "hold": bool(rule.hold_new_bookings),
        "bookings": [],
        "messages": [],
    }
    if rule.warn_provider or rule.hold_new_bookings:
        plan["messages"].append(
            {"kind": "provider", "to": email, "name": account.name, "booking": None, "subject": _provider_subject()}
        )
    for b in bookings:
        cancel = bool(rule.cancel_upcoming)
        refund = cancel and bool(rule.refund_cancelled)
        customer = _person(b.end_user.name, b.end_user.email) if b.end_user else _person("", "")
        plan["bookings"].append(
            {
                "id": b.pk,
                "external_id": b.external_id,
                "plan": b.plan,
                "category": b.category,
                "area": b.area,
                "scheduled_at": _iso(b.scheduled_at),
                "customer": customer,
                "amount": int(b.amount),
                "action": "cancel" if cancel else "notify",
                "refund": refund,
                "refund_amount": int(b.amount - b.refunded_amount) if refund else 0,
                "alternatives": [c.as_json() for c in alternatives.get(b.pk, [])[: rule.alternatives_count]]
                if rule.offer_alternatives
                else [],
            }
        )
        plan["messages"].append(
            {
                "kind": "cancel" if cancel else "notify",
                "to": customer["email"],
                "name": customer["name"],
                "booking": b.pk,
                "subject": _customer_subject(cancel),
            }
        )
    return plan


def evaluate(
    now: dt.datetime | None = None,
    *,
    provider_ids: Iterable[int] | None = None,
    rule_ids: Iterable[int] | None = None,
    rules: Sequence[Rule] | None = None,
    dry_run: bool = False,
    actor: User | None = None,
    run: EvaluationRun | None = None,
) -> EvaluationResult:
    """Evaluate the active rules (or `rule_ids`, or the given unsaved `rules` for a preview) for every provider
    (or `provider_ids`). Dry run: nothing is saved; the result's firings carry the plans that would be stored.
    Otherwise each reached (rule, provider) gets a proposed firing, executed at once when the rule needs no
    approval."""
    now = now or timezone.now()
    pids = sorted(set(provider_ids)) if provider_ids is not None else None
    if rules is None:
        qs = Rule.objects.filter(is_active=True)
        if rule_ids is not None:
            qs = qs.filter(pk__in=list(rule_ids))
        rules = list(qs)
    result = EvaluationResult(providers=len(pids) if pids is not None else Provider.objects.count())
    hits: list[_Hit] = []
    for i, rule in enumerate(rules):
        if run is not None:
            run.progress(5 + 60 * i // max(len(rules), 1), _("Counting incidents: %(rule)s") % {"rule": rule.name})
        hits.extend(_hits(rule, now, pids))
    if run is not None:
        run.progress(65, _("Planning actions"), providers=result.providers)
    if not hits:
        return result
    with translation.override(settings.LANGUAGE_CODE):
        plans = _plans(hits, now)
    if dry_run:
        result.firings = [
            Firing(rule=h.rule, provider_id=h.provider_id, score=h.score, plan=plan, evaluated_at=now)
            for h, plan in zip(hits, plans, strict=True)
        ]
        return result
    saved, already = _save(hits, plans, now, actor)
    result.firings, result.already_fired = saved, already
    if run is not None:
        run.progress(85, _("Executing rules without approval"), firings=len(saved))
    automatic = [f for f in saved if not f.rule.requires_approval]
    if automatic:
        result.executed = execute_new(automatic, now)
    return result


def _plans(hits: list[_Hit], now: dt.datetime) -> list[dict[str, Any]]:
    """The plan of every hit: accounts and profiles, upcoming bookings and alternatives in a few queries."""
    ids = {h.provider_id for h in hits}
    accounts = Account.objects.in_bulk(list(ids))
    profiles = Provider.objects.in_bulk(list(ids))
    want = [h for h in hits if h.rule.notify_customers or h.rule.cancel_upcoming]
    upcoming: dict[int, list[Booking]] = defaultdict(list)
    if want:
        horizon = max(h.rule.horizon_days for h in want)
        rows = (
            Booking.objects.filter(
                provider_id__in=sorted({h.provider_id for h in want}),
                status=BookingStatus.BOOKED,
                scheduled_at__gte=now,
                scheduled_at__lt=now + dt.timedelta(days=horizon),
            )
            .select_related("end_user")
            .order_by("scheduled_at", "id")
        )
        for b in rows:
            upcoming[b.provider_id].append(b)
    per_hit: list[list[Booking]] = []
    offered: dict[int, Booking] = {}
    for h in hits:
        end = now + dt.timedelta(days=h.rule.horizon_days)
        reaches_customers = h.rule.notify_customers or h.rule.cancel_upcoming
        mine = [b for b in upcoming.get(h.provider_id, []) if b.scheduled_at < end] if reaches_customers else []
        per_hit.append(mine)
        if h.rule.offer_alternatives:
            offered.update((b.pk, b) for b in mine)
    alternatives: dict[int, list[matching.Candidate]] = {}
    if offered:
        limit = max(h.rule.alternatives_count for h in hits if h.rule.offer_alternatives)
        alternatives = matching.alternatives_for(list(offered.values()), limit=limit, exclude=ids, now=now)
    return [
        _plan(h, accounts[h.provider_id], profiles.get(h.provider_id), mine, alternatives)
        for h, mine in zip(hits, per_hit, strict=True)
    ]


def _firing_audit(firing: Firing, actor: User | None, via: str) -> AuditEntry:
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        via=via,
        action=AuditAction.CREATE,
        object_type=Firing._meta.label_lower,
        object_id=str(firing.pk),
        object_repr=f"{firing.rule.name} / {firing.plan['provider']['name']}"[:200],
        account_id=firing.provider_id,
        changes={"status": [None, firing.status], "score": [None, firing.score], "rule": [None, firing.rule_id]},
    )


def _save(
    hits: list[_Hit], plans: list[dict[str, Any]], now: dt.datetime, actor: User | None
) -> tuple[list[Firing], int]:
    """Store the firings and their incidents. All at once when no other evaluation got there first; else one
    savepoint per firing, where the unique (rule, incident) constraint turns a duplicate into "already fired"."""
    via = "ui" if actor is not None else "rule"
    firings = [
        Firing(rule=h.rule, provider_id=h.provider_id, score=h.score, plan=p, evaluated_at=now)
        for h, p in zip(hits, plans, strict=True)
    ]
    try:
        with transaction.atomic():
            Firing.objects.bulk_create(firings, batch_size=2000)
            # Tens of thousands of links at national scale: COPY, not model instances. The unique (rule,
            # incident) violation of a concurrent evaluation still surfaces as Django's IntegrityError.
            pairs = [(f.pk, h.rule.pk, iid) for f, h in zip(firings, hits, strict=True) for iid in h.incident_ids]
            links = pl.DataFrame(
                pairs, schema={"firing_id": pl.Int64, "rule_id": pl.Int64, "incident_id": pl.Int64}, orient="row"
            )
            with connection.wrap_database_errors:
                insert_frame(FiringIncident._meta.db_table, links, ["firing_id", "rule_id", "incident_id"])
            AuditEntry.objects.bulk_create([_firing_audit(f, actor, via) for f in firings], batch_size=2000)
        return firings, 0
    except IntegrityError:
        pass
    saved: list[Firing] = []
    already = 0
    for h, p in zip(hits, plans, strict=True):
        firing = Firing(rule=h.rule, provider_id=h.provider_id, score=h.score, plan=p, evaluated_at=now)
        try:
            with transaction.atomic():
                firing.save(force_insert=True)
                FiringIncident.objects.bulk_create(
                    [FiringIncident(firing=firing, rule_id=h.rule.pk, incident_id=iid) for iid in h.incident_ids]
                )
                _firing_audit(firing, actor, via).save()
        except IntegrityError:
            already += 1
            continue
        saved.append(firing)
    return saved, already


def preview(rule: Rule, now: dt.datetime | None = None) -> list[Firing]:
    """What `rule` (saved or not) would do if evaluated now: unsaved firings with their plans."""
    return evaluate(now, rules=[rule], dry_run=True).firings


# Messages ------------------------------------------------------------------------------------------------


def _provider_subject() -> str:
    return _("[Marketplace] Notice about your listing")


def _customer_subject(cancel: bool) -> str:
    if cancel:
        return _("[Marketplace] Your booking has been cancelled")
    return _("[Marketplace] About your upcoming booking")


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(matching.TOKYO).strftime("%Y-%m-%d %H:%M")


def _alternatives_text(item: dict[str, Any]) -> str:
    lines = []
    for c in item.get("alternatives", []):
        lines.append(f"・{c['name']}" + (f"\n  {c['booking_url']}" if c.get("booking_url") else ""))
    if not lines:
        return ""
    return _("Other providers who can serve you on the same day:") + "\n" + "\n".join(lines) + "\n\n"


def provider_text(plan: dict[str, Any]) -> str:
    parts = [
        _("Dear %(name)s,") % {"name": plan["provider"]["name"]},
        "",
        _("Thank you for offering your services on our marketplace.")
        + "\n"
        + _(
            "Recent confirmed incidents concerning your services (%(count)s) have reached our standard "
            "(rule: %(rule)s)."
        )
        % {"count": len(plan.get("incidents", [])), "rule": plan["rule"]["name"]},
    ]
    if plan.get("hold"):
        parts.append(_("New bookings for your services are on hold until further notice."))
    if any(b["action"] == "cancel" for b in plan.get("bookings", [])):
        parts.append(_("Your upcoming bookings in the coming days have been cancelled and the customers informed."))
    parts += ["", _("Please review your service and contact us if you have any questions.")]
    return "\n".join(parts) + "\n"


def customer_text(plan: dict[str, Any], item: dict[str, Any]) -> str:
    name = item["customer"]["name"]
    greeting = _("Dear %(name)s,") % {"name": name} if name else _("Dear customer,")
    facts = _("Booking: %(plan)s with %(provider)s on %(when)s") % {
        "plan": item.get("plan") or item["external_id"],
        "provider": plan["provider"]["name"],
        "when": _when(item["scheduled_at"]),
    }
    if item["action"] == "cancel":
        body = _("We are sorry to inform you that we have cancelled the following booking.")
        if item["refund"]:
            body += "\n" + _("The full amount of %(amount)s yen will be refunded.") % {
                "amount": f"{item['refund_amount']:,}"
            }
    else:
        body = _("We would like to inform you about your upcoming booking with a provider we are reviewing.")
        body += "\n" + _("Your booking remains valid; you may also choose another provider.")
    return (
        greeting
        + "\n\n"
        + body
        + "\n\n"
        + facts
        + "\n\n"
        + _alternatives_text(item)
        + _("We apologise for the inconvenience.")
        + "\n"
    )


# Executing, approving, rejecting -------------------------------------------------------------------------


def _locked_proposed(firing: Firing) -> Firing:
    locked = Firing.objects.select_for_update().select_related("rule").get(pk=firing.pk)
    if locked.status != FiringStatus.PROPOSED:
        raise RuleError(
            "status", _("This rule action was already decided (%(status)s).") % {"status": locked.get_status_display()}
        )
    return locked


def _skip_reason(item: dict[str, Any], booking: Booking | None, provider_id: int) -> str:
    if booking is None:
        return _("booking no longer exists")
    if booking.status != BookingStatus.BOOKED:
        return _("booking is now %(status)s") % {"status": booking.get_status_display()}
    if booking.provider_id != provider_id:
        return _("booking moved to another provider")
    if _iso(booking.scheduled_at) != item["scheduled_at"]:
        return _("booking was rescheduled")
    return ""


def execute(
    firing: Firing,
    actor: User | None,
    via: str,
    *,
    note: str = "",
    now: dt.datetime | None = None,
) -> Firing:
    """Carry out a proposed firing's plan item by item (see the module docstring), in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_proposed(firing)
        _carry_out([locked], actor, via, note, now)
    return locked


def execute_new(firings: Sequence[Firing], now: dt.datetime) -> int:
    """Execute the firings an evaluation just created for rules without approval, all in one batch (the same
    steps as `execute`, a handful of queries for any number of firings). Returns how many were executed."""
    with transaction.atomic():
        locked = list(
            Firing.objects.select_for_update()
            .select_related("rule")
            .filter(pk__in=[f.pk for f in firings], status=FiringStatus.PROPOSED)
            .order_by("pk")
        )
        _carry_out(locked, None, "rule", "", now)
    done = {f.pk: f for f in locked}
    for f in firings:
        if f.pk in done:
            f.status, f.executed_at, f.outcome = done[f.pk].status, done[f.pk].executed_at, done[f.pk].outcome
    return len(locked)


def _outbox_email(to: str, subject: str, text: str, key: str, account: Account | None) -> Any:
    """An outbox email row for one bulk insert of a batch (dedupe keys are checked before the insert)."""
    from banso.playbooks import outbox

    return outbox.email_message(to, subject, text, source=SOURCE, dedupe_key=key, account=account)


def _status_left(profile: Provider | None) -> str:
    return _("status left as %(status)s") % {"status": profile.get_status_display() if profile else "—"}


def _carry_out(firings: list[Firing], actor: User | None, via: str, note: str, now: dt.datetime) -> None:
    """Follow the plans of locked, proposed firings (inside the caller's transaction)."""
    from banso.playbooks.models import OutboxMessage

    from . import providers  # status changes with their own audit and the platform's webhook

    if not firings:
        return
    user = actor if actor is not None and actor.is_authenticated else None
    with translation.override(settings.LANGUAGE_CODE):
        pids = sorted({f.provider_id for f in firings})
        accounts = Account.objects.in_bulk(pids)
        profiles = Provider.objects.select_for_update().in_bulk(pids)
        current = {pid: p.status for pid, p in profiles.items()}
        status_changes: dict[int, tuple[str, str]] = {}
        booking_ids = [item["id"] for f in firings for item in f.plan.get("bookings", [])]
        bookings = Booking.objects.select_for_update().in_bulk(booking_ids) if booking_ids else {}
        emails: list[Any] = []
        changed: list[Booking] = []
        audits: list[AuditEntry] = []
        for firing in firings:
            plan, pid = firing.plan, firing.provider_id
            account, profile = accounts[pid], profiles.get(pid)
            outcome: dict[str, Any] = {"bookings": {}, "messages": [], "warn": "", "hold": ""}
            reason = (_("Rule reached: %(rule)s") % {"rule": plan.get("rule", {}).get("name", firing.rule.name)})[:300]

            def send(
                message: dict[str, Any],
                text: str,
                key: str,
                outcome: dict[str, Any] = outcome,
                account: Account = account,
            ) -> None:
                if not message["to"]:
                    outcome["messages"].append({**message, "result": "no address", "dedupe_key": key})
                    return
                emails.append(_outbox_email(message["to"], message["subject"], text, key, account))
                outcome["messages"].append({**message, "result": "queued", "dedupe_key": key})

            if plan.get("warn"):
                if profile is not None and current[pid] == ProviderStatus.ACTIVE:
                    current[pid] = ProviderStatus.WARNED
                    status_changes[pid] = (ProviderStatus.WARNED, reason)
                    outcome["warn"] = "warned"
                else:
                    outcome["warn"] = _status_left(profile)
            if plan.get("hold"):
                if profile is not None and current[pid] in (ProviderStatus.ACTIVE, ProviderStatus.WARNED):
                    current[pid] = ProviderStatus.ON_HOLD
                    status_changes[pid] = (ProviderStatus.ON_HOLD, reason)
                    outcome["hold"] = "on_hold"
                else:
                    outcome["hold"] = _status_left(profile)
            for message in plan.get("messages", []):
                if message["kind"] == "provider":
                    send(message, provider_text(plan), f"firing:{firing.pk}:warn")
            messages_by_booking = {m["booking"]: m for m in plan.get("messages", []) if m.get("booking")}
            for item in plan.get("bookings", []):
                booking = bookings.get(item["id"])
                skip = _skip_reason(item, booking, pid)
                if skip:
                    outcome["bookings"][str(item["id"])] = {"result": "skipped", "reason": skip}
                    continue
                assert booking is not None
                if item["action"] == "cancel":
                    before = snapshot(booking, BOOKING_AUDIT)
                    booking.status = BookingStatus.CANCELLED
                    booking.cancelled_at = now
                    booking.cancellation_reason = reason
                    booking.cancelled_by = firing
                    booking.refund_due = bool(item["refund"])
                    if item["refund"]:
                        booking.cancellation_fee = 0
                    changed.append(booking)
                    booking.provider = account  # str() without a query per booking
                    entry = change_entry(
                        actor=user,
                        obj=booking,
                        action=AuditAction.UPDATE,
                        before=before,
                        after=snapshot(booking, BOOKING_AUDIT),
                        account_id=pid,
                        via=via,
                    )
                    if entry is not None:
                        audits.append(entry)
                    outcome["bookings"][str(item["id"])] = {
                        "result": "cancelled",
                        "refund_amount": item["refund_amount"],
                    }
                else:
                    outcome["bookings"][str(item["id"])] = {"result": "notified"}
                message = messages_by_booking.get(item["id"])
                if message is not None:
                    send(message, customer_text(plan, item), f"firing:{firing.pk}:booking:{item['id']}")

            before = snapshot(firing, FIRING_AUDIT)
            firing.status, firing.executed_at, firing.outcome = FiringStatus.EXECUTED, now, outcome
            if user is not None:
                firing.decided_by, firing.decided_at = user, now
            if note:
                firing.decision_note = note[:300]
            firing.provider = account  # str() without a query per firing
            entry = change_entry(
                actor=user,
                obj=firing,
                action=AuditAction.UPDATE,
                before=before,
                after=snapshot(firing, FIRING_AUDIT),
                account_id=pid,
                via=via,
            )
            if entry is not None:
                audits.append(entry)
        if status_changes:
            providers.set_statuses(status_changes, actor=user, via=via, now=now)
        if changed:
            Booking.objects.bulk_update(changed, list(BOOKING_AUDIT), batch_size=2000)
        if emails:
            # A (source, dedupe_key) is queued once: keys already there (none, for a firing executed once) stay.
            keys = [m.dedupe_key for m in emails]
            there = set(
                OutboxMessage.objects.filter(source=SOURCE, dedupe_key__in=keys).values_list("dedupe_key", flat=True)
            )
            OutboxMessage.objects.bulk_create([m for m in emails if m.dedupe_key not in there], batch_size=2000)
        # What every firing of the batch shares in one UPDATE; only the outcomes differ row by row.
        Firing.objects.filter(pk__in=[f.pk for f in firings]).update(
            status=FiringStatus.EXECUTED,
            executed_at=now,
            decided_by=user,
            decided_at=now if user is not None else None,
            decision_note=note[:300],
        )
        Firing.objects.bulk_update(firings, ["outcome"], batch_size=500)
        record_changes_bulk(audits)


def approve(firing: Firing, actor: User | None, note: str = "", *, via: str = "ui") -> Firing:
    """Approve a proposed firing: its plan is executed at once."""
    return execute(firing, actor, via, note=note)


def reject(firing: Firing, actor: User, note: str, *, via: str = "ui") -> Firing:
    """Reject a proposed firing (a note is required). Its incidents stay consumed for the rule."""
    note = (note or "").strip()
    if not note:
        raise RuleError("note", _("Say why the rule action is rejected."))
    with transaction.atomic():
        firing = _locked_proposed(firing)
        before = snapshot(firing, ("status", "decided_by", "decision_note"))
        firing.status = FiringStatus.REJECTED
        firing.decided_by, firing.decided_at, firing.decision_note = actor, timezone.now(), note[:300]
        firing.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record_change(
            actor=actor,
            obj=firing,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(firing, ("status", "decided_by", "decision_note")),
            account_id=firing.provider_id,
            via=via,
        )
    return firing


# Background runs, the schedule, the incident signal ----------------------------------------------------------


def run_evaluation(run: EvaluationRun, now: dt.datetime | None = None) -> EvaluationRun:
    """Carry out a queued (or command-line) evaluation, recording progress and counts on the run."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        result = evaluate(now or run.started_at, run=run, actor=run.triggered_by)
        run.providers, run.firings, run.executed = result.providers, len(result.firings), result.executed
        run.status, run.percent = RunStatus.SUCCEEDED, 100
        run.step = _("%(n)s rule actions proposed") % {"n": len(result.firings)}
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
    return run


def active_evaluation() -> EvaluationRun | None:
    return EvaluationRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


def start_evaluation(actor: User | None, *, scheduled: bool = False, now: dt.datetime | None = None) -> EvaluationRun:
    """Queue an evaluation for the worker (the "evaluate now" button, the API, the daily job)."""
    from .rules_tasks import evaluate_rules_task

    local = timezone.localtime(now or timezone.now(), matching.TOKYO)
    run = EvaluationRun.objects.create(as_of=local.date(), triggered_by=actor, scheduled=scheduled)
    transaction.on_commit(lambda: evaluate_rules_task.enqueue(run.pk))
    return run


DAILY_AT = dt.time(6, 0)


def due_evaluation(now: dt.datetime | None = None) -> EvaluationRun | None:
    """The scheduler's question every minute: from 06:00 Tokyo, once a day, queue the evaluation. The unique
    scheduled run per day lets only one of several schedulers create it."""
    local = timezone.localtime(now or timezone.now(), matching.TOKYO)
    if local.time() < DAILY_AT:
        return None
    if EvaluationRun.objects.filter(as_of=local.date(), scheduled=True).exists():
        return None
    if not Rule.objects.filter(is_active=True).exists():
        return None
    try:
        with transaction.atomic():
            return start_evaluation(None, scheduled=True, now=local)
    except IntegrityError:
        return None


def _due_job(now: dt.datetime) -> str | None:
    run = due_evaluation(now)
    return None if run is None else f"marketplace rules: evaluation {run.pk} queued"


def on_incident_confirmed(
    sender: Any, *, provider_ids: Iterable[int] = (), actor: User | None = None, **_kwargs: Any
) -> None:
    """An incident was confirmed (and committed): evaluate its providers' rules at once."""
    ids = list(provider_ids)
    if not ids:
        return
    try:
        evaluate(timezone.now(), provider_ids=ids, actor=actor)
    except Exception:  # the confirmation is committed already; the daily evaluation catches up
        logger.exception("evaluating rules for providers %s after a confirmation failed", ids)


def register() -> None:
    """Called from the marketplace registry: the daily evaluation and the incident-confirmed receiver."""
    from banso.core.schedule import ScheduledJob, register_job

    from . import incidents

    register_job(ScheduledJob("marketplace.rules", _due_job))
    signal = getattr(incidents, "incident_confirmed", None)
    if signal is not None:
        signal.connect(on_incident_confirmed, dispatch_uid="marketplace.rules.on_incident_confirmed")
