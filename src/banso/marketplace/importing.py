"""Bookings arrive like every other record: through activity's import engine (CSV in cp932 or UTF-8 with BOM,
XLSX, JSON API batches), checked row by row, all or nothing, idempotent by (source, external_id).

The merchant (`provider`) and the member (`end_user`) are named by their external ids in the same source;
amounts follow the yen rules (commas, ¥ and 円 allowed, whole numbers); the tax rate is 8 or 10; times without
an offset are Tokyo time. A provider whose bookings are on hold (or suspended) gets no new bookings.

Providers (account, profile and services in one row) and incidents (numbered; types, severities and statuses
by code or label) come the same way, each with its own writer. Registered from MarketplaceConfig.ready()."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.activity.importing import (
    Checked,
    Column,
    EntitySpec,
    ImportRefused,
    ImportResult,
    Progress,
    register_spec,
    row_error,
)
from banso.activity.importing.specs import ROW
from banso.core.choices import AuditAction
from banso.core.models import AuditEntry
from banso.core.services import diff, record_changes_bulk, snapshot
from banso.core.text import normalise, search_key

from .incidents import FUTURE_SLACK, NUMBER_PREFIX, incident_confirmed, next_number
from .models import (
    Booking,
    BookingStatus,
    Incident,
    IncidentStatus,
    IncidentType,
    Provider,
    ProviderService,
    ProviderStatus,
    Severity,
)

ENTITY = "bookings"
MAX_GUESTS = 999


def _cross_checks(raw: pl.DataFrame, typed: pl.DataFrame, add_rows: Callable[..., None]) -> None:
    """Rules across columns, each reported on the column to fix."""
    status = typed.get_column("status")
    amount = typed.get_column("amount")
    cancelled = status == BookingStatus.CANCELLED.value
    add_rows(
        raw,
        cancelled & typed.get_column("cancelled_at").is_null(),
        "cancelled_at",
        lambda _v: _("A cancelled booking needs the time it was cancelled."),
    )
    fee = typed.get_column("cancellation_fee")
    add_rows(
        raw,
        fee.is_not_null() & amount.is_not_null() & (fee > amount),
        "cancellation_fee",
        lambda v: _("The cancellation fee %(value)s is more than the booking's amount.") % {"value": v},
    )
    refunded = typed.get_column("refunded_amount")
    add_rows(
        raw,
        refunded.is_not_null() & amount.is_not_null() & (refunded > amount),
        "refunded_amount",
        lambda v: _("The refund %(value)s is more than the booking's amount.") % {"value": v},
    )
    add_rows(
        raw,
        refunded.is_not_null() & (refunded > 0) & typed.get_column("refunded_at").is_null(),
        "refunded_at",
        lambda _v: _("A refund needs the time it was made."),
    )
    guests = typed.get_column("guests")
    add_rows(
        raw,
        guests.is_not_null() & ((guests < 1) | (guests > MAX_GUESTS)),
        "guests",
        lambda v: _("%(value)s guests: write a number from 1 to %(max)s.") % {"value": v, "max": MAX_GUESTS},
    )


def _held_providers(raw: pl.DataFrame, typed: pl.DataFrame, add_rows: Callable[..., None]) -> None:
    """New bookings (booked after the hold began) of providers whose bookings are on hold or suspended."""
    providers = typed.get_column("provider")
    held = dict(
        Provider.objects.filter(
            account_id__in=providers.drop_nulls().unique().to_list(),
            status__in=(ProviderStatus.ON_HOLD, ProviderStatus.SUSPENDED),
        ).values_list("account_id", "status_changed_at")
    )
    if not held:
        return
    mask = [
        provider in held
        and (status is None or status == BookingStatus.BOOKED.value)
        and booked_at is not None
        and (held[provider] is None or booked_at > held[provider])
        for provider, status, booked_at in zip(
            providers.to_list(),
            typed.get_column("status").to_list(),
            typed.get_column("booked_at").to_list(),
            strict=True,
        )
    ]
    add_rows(
        raw,
        pl.Series(mask, dtype=pl.Boolean),
        "provider",
        lambda v: _("Provider %(id)s is not taking new bookings (on hold or suspended).") % {"id": v},
    )


def _describe(booking: Any) -> str:
    return f"{booking.plan} ({booking.external_id})"


BOOKING_SPEC = EntitySpec(
    ENTITY,
    Booking,
    (
        Column("external_id", "str", required=True, max_length=100),
        Column("provider", "ref", required=True, ref="account"),
        Column("end_user", "ref", ref="end_user"),
        Column("plan", "str", max_length=200),
        Column("category", "str", max_length=100),
        Column("area", "str", max_length=100),
        Column("booked_at", "datetime", required=True),
        Column("scheduled_at", "datetime", required=True),
        Column("guests", "int"),
        Column("amount", "int_yen", required=True),
        Column("tax_rate", "int", allowed=(8, 10)),
        Column("status", "choice", choices=BookingStatus),
        Column("cancelled_at", "datetime"),
        Column("cancellation_fee", "int_yen"),
        Column("refunded_amount", "int_yen"),
        Column("refunded_at", "datetime"),
        Column("payment_id", "str", max_length=100),
    ),
    checks=(_cross_checks, _held_providers),
    account_attr="provider_id",
    describe=_describe,
)


# Providers -----------------------------------------------------------------------------------------------------

PROVIDERS = "providers"
MAX_CAPACITY = 999
PROFILE_FIELDS = ("email", "rating", "review_count", "daily_capacity", "booking_url")


def parse_services(text: str | None) -> list[tuple[str, str]] | None:
    """ "カテゴリ/エリア; カテゴリ/エリア" → [(category, area), …]; None when a part is not category/area."""
    out: list[tuple[str, str]] = []
    for part in re.split(r"[;；\n]", text or ""):
        part = part.strip()
        if not part:
            continue
        pieces = re.split(r"[/／]", part)
        if len(pieces) != 2 or not pieces[0].strip() or not pieces[1].strip():
            return None
        category, area = pieces[0].strip(), pieces[1].strip()
        if len(category) > 100 or len(area) > 100:
            return None
        if (category, area) not in out:
            out.append((category, area))
    return out


def _provider_checks(raw: pl.DataFrame, typed: pl.DataFrame, add_rows: Callable[..., None]) -> None:
    rating = typed.get_column("rating")
    number = rating.str.contains(r"^\d(\.\d{1,2})?$")
    value = rating.cast(pl.Float64, strict=False)
    add_rows(
        raw,
        rating.is_not_null() & (~number | (value > 5)),
        "rating",
        lambda v: _("%(value)s is not a rating from 0 to 5 (at most 2 decimal places).") % {"value": v},
    )
    capacity = typed.get_column("daily_capacity")
    add_rows(
        raw,
        capacity.is_not_null() & (capacity > MAX_CAPACITY),
        "daily_capacity",
        lambda v: _("%(value)s bookings a day: write a number from 0 to %(max)s.") % {"value": v, "max": MAX_CAPACITY},
    )
    url = typed.get_column("booking_url")
    add_rows(
        raw,
        url.is_not_null() & ~url.str.contains(r"^https?://\S+$"),
        "booking_url",
        lambda v: _("%(value)s is not a web address (https://…).") % {"value": v},
    )
    services = typed.get_column("services")
    bad = [v is not None and parse_services(v) is None for v in services.to_list()]
    add_rows(
        raw,
        pl.Series(bad, dtype=pl.Boolean),
        "services",
        lambda v: _('%(value)s: write the services as "category/area; category/area".') % {"value": v},
    )


def _provider_audit(obj: Any, action: str, before: dict[str, Any], after: dict[str, Any], actor: Any) -> AuditEntry:
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        via="import",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj.account.name if isinstance(obj, Provider) else obj.name)[:200],
        account_id=obj.pk,
        changes=diff(before, after),
    )


def _write_providers(checked: Checked, actor: Any, progress: Progress | None) -> ImportResult:
    """Account (kind provider), profile and services per row; columns the file leaves out stay as they are."""
    source, present = checked.source, set(checked.present)
    rows = list(checked.frame.iter_rows(named=True))
    accounts = {
        a.external_id: a
        for a in Account.objects.filter(source=source, external_id__in=[r["external_id"] for r in rows])
    }
    wrong = [
        row_error(r[ROW], "external_id", _("Account %(id)s is not a provider.") % {"id": r["external_id"]})
        for r in rows
        if r["external_id"] in accounts and accounts[r["external_id"]].kind != AccountKind.PROVIDER
    ]
    if wrong:
        raise ImportRefused(wrong, total_rows=len(rows))
    profiles = {p.pk: p for p in Provider.objects.filter(pk__in=[a.pk for a in accounts.values()])}
    current: dict[int, set[tuple[str, str]]] = {}
    for pid, category, area in ProviderService.objects.filter(provider_id__in=list(profiles)).values_list(
        "provider_id", "category", "area"
    ):
        current.setdefault(pid, set()).add((category, area))
    now = timezone.now()
    result = ImportResult()
    audit: list[AuditEntry] = []
    account_fields = [f for f in ("name", "name_kana") if f in present]
    profile_fields = [f for f in PROFILE_FIELDS if f in present]
    for done, row in enumerate(rows, start=1):
        changed = False
        account = accounts.get(row["external_id"])
        account_values = {f: row[f] or "" for f in account_fields}
        if account is None:
            account = Account(
                source=source, external_id=row["external_id"], kind=AccountKind.PROVIDER, created_at=now, updated_at=now
            )
            for f, v in account_values.items():
                setattr(account, f, v)
            account.search_text = search_key(account.name, account.name_kana)
            account.save()
            audit.append(
                _provider_audit(
                    account, AuditAction.CREATE, {}, snapshot(account, ["name", "name_kana", "kind"]), actor
                )
            )
            created = True
        else:
            created = False
            before = snapshot(account, account_fields)
            if any(getattr(account, f) != v for f, v in account_values.items()):
                for f, v in account_values.items():
                    setattr(account, f, v)
                account.search_text = search_key(account.name, account.name_kana)
                account.updated_at = now
                account.save(update_fields=[*account_fields, "search_text", "updated_at"])
                audit.append(
                    _provider_audit(account, AuditAction.UPDATE, before, snapshot(account, account_fields), actor)
                )
                changed = True
        profile_values = {f: _profile_value(f, row[f]) for f in profile_fields}
        wanted = set(parse_services(row["services"]) or []) if "services" in present else None
        profile = profiles.get(account.pk)
        have: set[tuple[str, str]] = current.get(account.pk, set())
        before_profile: dict[str, Any] = {}
        if profile is None:
            profile = Provider(account=account, **profile_values)
            profile.save()
            after_profile = snapshot(profile, list(PROFILE_FIELDS))
            created = True
        else:
            before_profile = snapshot(profile, profile_fields)
            if any(getattr(profile, f) != v for f, v in profile_values.items()):
                for f, v in profile_values.items():
                    setattr(profile, f, v)
                profile.save(update_fields=profile_fields)
            after_profile = snapshot(profile, profile_fields)
        if wanted is not None and wanted != have:
            for category, area in have - wanted:
                ProviderService.objects.filter(provider=profile, category=category, area=area).delete()
            ProviderService.objects.bulk_create(
                [ProviderService(provider=profile, category=c, area=a) for c, a in sorted(wanted - have)]
            )
            before_profile["services"] = sorted(f"{c}/{a}" for c, a in have) if have else None
            after_profile["services"] = sorted(f"{c}/{a}" for c, a in wanted)
        if before_profile != after_profile:
            action = AuditAction.UPDATE if before_profile or not created else AuditAction.CREATE
            if profile.pk not in profiles:
                action = AuditAction.CREATE
            else:
                changed = True
            audit.append(_provider_audit(profile, action, before_profile, after_profile, actor))
        if created:
            result.created += 1
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
        if progress and done % 500 == 0:
            progress(done, len(rows))
    record_changes_bulk(audit)
    return result


def _profile_value(field: str, value: Any) -> Any:
    if field == "rating":
        return Decimal(value).quantize(Decimal("0.01")) if value is not None else None
    if field in ("review_count",):
        return value or 0
    if field == "daily_capacity":
        return value if value is not None else Provider._meta.get_field("daily_capacity").get_default()
    return value or ""


PROVIDER_SPEC = EntitySpec(
    PROVIDERS,
    Provider,
    (
        Column("external_id", "str", required=True, max_length=100),
        Column("name", "str", required=True, max_length=200),
        Column("name_kana", "str", max_length=200),
        Column("email", "email", max_length=254),
        Column("rating", "decimal"),
        Column("review_count", "int"),
        Column("daily_capacity", "int"),
        Column("booking_url", "str", max_length=500),
        Column("services", "str"),
    ),
    checks=(_provider_checks,),
    account_attr="pk",
    write=_write_providers,
)


# Incidents -----------------------------------------------------------------------------------------------------

INCIDENTS = "incidents"


def _choice_lookup(choices: Any) -> dict[str, Any]:
    """Code, English label and Japanese label (all normalised) → the value."""
    out: dict[str, Any] = {}
    for value, label in choices.choices:
        out[normalise(str(value))] = value
        with translation.override("en"):
            out[normalise(str(label))] = value
        with translation.override("ja"):
            out[normalise(str(label))] = value
    return out


def _lookup_column(typed: pl.DataFrame, name: str, choices: Any) -> list[Any]:
    table = _choice_lookup(choices)
    return [None if v is None else table.get(normalise(v), _MISSING) for v in typed.get_column(name).to_list()]


_MISSING = object()


def _incident_checks(raw: pl.DataFrame, typed: pl.DataFrame, add_rows: Callable[..., None]) -> None:
    for name, choices in (("type", IncidentType), ("severity", Severity), ("status", IncidentStatus)):
        values = _lookup_column(typed, name, choices)
        labels = ", ".join(str(label) for label in choices.labels)
        add_rows(
            raw,
            pl.Series([v is _MISSING for v in values], dtype=pl.Boolean),
            name,
            lambda v, labels=labels: _("%(value)s is not one of: %(choices)s") % {"value": v, "choices": labels},
        )
    limit = timezone.now() + FUTURE_SLACK
    occurred = typed.get_column("occurred_at")
    add_rows(
        raw,
        pl.Series([v is not None and v > limit for v in occurred.to_list()], dtype=pl.Boolean),
        "occurred_at",
        lambda v: _("%(value)s is in the future; an incident is recorded once it happened.") % {"value": v},
    )


def _write_incidents(checked: Checked, actor: Any, progress: Progress | None) -> ImportResult:
    """Create or update incidents by (source, external_id); new ones are numbered. Providers with newly
    confirmed incidents are announced (incident_confirmed) once the import commits."""
    source, present = checked.source, set(checked.present)
    frame = checked.frame
    rows = list(frame.iter_rows(named=True))
    types = _lookup_column(frame, "type", IncidentType)
    severities = _lookup_column(frame, "severity", Severity)
    statuses = _lookup_column(frame, "status", IncidentStatus)
    errors: list[dict[str, Any]] = []
    provider_ids = {r["provider"] for r in rows}
    providers = dict(
        Account.objects.filter(
            pk__in=provider_ids, kind=AccountKind.PROVIDER, provider_profile__isnull=False
        ).values_list("pk", "name")
    )
    booking_exts = sorted({r["booking"] for r in rows if r["booking"]})
    bookings = {
        ext: (pk, provider_id)
        for ext, pk, provider_id in Booking.objects.filter(source=source, external_id__in=booking_exts).values_list(
            "external_id", "pk", "provider_id"
        )
    }
    for row in rows:
        if row["provider"] not in providers:
            errors.append(
                row_error(row[ROW], "provider", _("%(id)s is not a provider.") % {"id": row["provider__ext"]})
            )
        if row["booking"]:
            found = bookings.get(row["booking"])
            if found is None:
                errors.append(
                    row_error(
                        row[ROW],
                        "booking",
                        _("No booking with id %(id)s in source %(source)s.") % {"id": row["booking"], "source": source},
                    )
                )
            elif found[1] != row["provider"]:
                errors.append(
                    row_error(
                        row[ROW], "booking", _("Booking %(id)s is not with this provider.") % {"id": row["booking"]}
                    )
                )
    if errors:
        raise ImportRefused(errors, total_rows=len(rows))

    existing = {
        i.external_id: i
        for i in Incident.objects.filter(source=source, external_id__in=[r["external_id"] for r in rows])
    }
    now = timezone.now()
    fields = [f for f in INCIDENT_FIELDS if f in present]
    if "confirmed_at" in present and "status" not in present:
        fields.append("status")
    audited = [*fields, "number"]
    result = ImportResult()
    audit: list[AuditEntry] = []
    announce: set[int] = set()
    number = int(next_number().removeprefix(NUMBER_PREFIX))
    new: list[Incident] = []
    for i, row in enumerate(rows):
        values: dict[str, Any] = {
            "provider_id": row["provider"],
            "type": types[i],
            "severity": severities[i] if severities[i] is not None else Severity.MEDIUM,
            "occurred_at": row["occurred_at"],
            "summary": row["summary"] or "",
            "evidence": row["evidence"] or "",
            "booking_id": bookings[row["booking"]][0] if row["booking"] else None,
            "inquiry_number": row["inquiry_number"],
            "confirmed_at": row["confirmed_at"],
        }
        status = statuses[i]
        if status is None:
            status = IncidentStatus.CONFIRMED if row["confirmed_at"] is not None else IncidentStatus.REPORTED
        values["status"] = status
        if status == IncidentStatus.CONFIRMED and values["confirmed_at"] is None:
            values["confirmed_at"] = now
        if status != IncidentStatus.CONFIRMED:
            values["confirmed_at"] = None
        wanted = {(f"{f}_id" if f in ("provider", "booking") else f): values[_attname(f)] for f in fields}
        if "status" in wanted:
            wanted["confirmed_at"] = values["confirmed_at"]
        incident = existing.get(row["external_id"])
        if incident is None:
            incident = Incident(
                source=source, external_id=row["external_id"], number=f"{NUMBER_PREFIX}{number:06d}", **values
            )
            number += 1
            new.append(incident)
            if status == IncidentStatus.CONFIRMED:
                announce.add(row["provider"])
            continue
        if (
            "status" in wanted
            and status == IncidentStatus.CONFIRMED
            and row["confirmed_at"] is None
            and incident.confirmed_at is not None
        ):
            wanted["confirmed_at"] = incident.confirmed_at  # confirmed before: keep when
        dirty = {a: v for a, v in wanted.items() if getattr(incident, a) != v}
        if not dirty:
            result.unchanged += 1
            continue
        before = snapshot(incident, audited)
        was_confirmed = incident.status == IncidentStatus.CONFIRMED
        for attname, value in dirty.items():
            setattr(incident, attname, value)
        incident.updated_at = now
        incident.save(update_fields=[*dirty, "updated_at"])
        audit.append(_incident_audit(incident, AuditAction.UPDATE, before, snapshot(incident, audited), actor))
        if incident.status == IncidentStatus.CONFIRMED and not was_confirmed:
            announce.add(incident.provider_id)
        result.updated += 1
    Incident.objects.bulk_create(new, batch_size=1000)
    if any(i.pk is None for i in new):  # databases that do not return ids from a bulk insert
        pks = dict(
            Incident.objects.filter(source=source, number__in=[i.number for i in new]).values_list("number", "pk")
        )
        for incident in new:
            incident.pk = pks[incident.number]
    for incident in new:
        audit.append(_incident_audit(incident, AuditAction.CREATE, {}, snapshot(incident, audited), actor))
    result.created = len(new)
    record_changes_bulk(audit)
    if progress:
        progress(len(rows), len(rows))
    user = actor if actor is not None and actor.is_authenticated else None
    if announce:
        ids = sorted(announce)
        transaction.on_commit(lambda: incident_confirmed.send(sender=Incident, provider_ids=ids, actor=user))
    return result


INCIDENT_FIELDS = (
    "provider",
    "type",
    "severity",
    "status",
    "occurred_at",
    "summary",
    "evidence",
    "booking",
    "inquiry_number",
    "confirmed_at",
)


def _attname(field: str) -> str:
    return f"{field}_id" if field in ("provider", "booking") else field


def _incident_audit(
    incident: Incident, action: str, before: dict[str, Any], after: dict[str, Any], actor: Any
) -> AuditEntry:
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        via="import",
        action=action,
        object_type=incident._meta.label_lower,
        object_id=str(incident.pk),
        object_repr=f"{incident.number} {incident.summary}"[:200],
        account_id=incident.provider_id,
        changes=diff(before, after),
    )


INCIDENT_SPEC = EntitySpec(
    INCIDENTS,
    Incident,
    (
        Column("external_id", "str", required=True, max_length=100),
        Column("provider", "ref", required=True, ref="account"),
        Column("type", "str", required=True),
        Column("severity", "str"),
        Column("status", "str"),
        Column("occurred_at", "datetime", required=True),
        Column("summary", "str", required=True, max_length=300),
        Column("evidence", "str"),
        Column("booking", "str", max_length=100),
        Column("inquiry_number", "int"),
        Column("confirmed_at", "datetime"),
    ),
    checks=(_incident_checks,),
    account_attr="provider_id",
    write=_write_incidents,
)


def register() -> None:
    register_spec(BOOKING_SPEC, gettext_lazy("Bookings"))
    register_spec(PROVIDER_SPEC, gettext_lazy("Providers"))
    register_spec(INCIDENT_SPEC, gettext_lazy("Incidents"))
