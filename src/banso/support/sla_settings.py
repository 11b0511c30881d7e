"""Desk settings (MANAGE_SUPPORT): SLA policies, custom statuses, team routing (business hours and round
robin) and the SLA warning window. Each change is one transaction with its audit entry; bad input raises
`DeskError(field, message)` naming the field (and, for business hours, the bad range)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from banso.core.business_hours import BusinessHours
from banso.core.choices import AuditAction
from banso.core.models import Team, User
from banso.core.services import record_change, snapshot

from . import sla
from .desk import DEFAULT_STATUSES, DeskError
from .models import Channel, Inquiry, Priority, SlaPolicy, Status, StatusCategory, SupportSettings, TeamSettings

POLICY_FIELDS = (
    "name",
    "priority",
    "channel",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "business_hours",
    "active",
)
STATUS_FIELDS = ("key", "name", "category", "pauses_sla", "position", "active")
TEAM_FIELDS = ("business_hours", "round_robin")
MAX_TARGET = 60 * 24 * 60  # sixty 24-hour days of business minutes: anything above is a typo
_RANGE = re.compile(r"^(\d{1,2}:\d{2})\s*[-–~〜～]\s*(\d{1,2}:\d{2})$")


def parse_hours_text(text: str, field: str = "business_hours") -> list[list[str]]:
    """'09:00-12:00, 13:00-18:00' → [["09:00", "12:00"], ["13:00", "18:00"]]; empty text → [] (the default
    hours). Ranges are separated by commas (、 too) or new lines; a bad range is named in the error."""
    pairs: list[list[str]] = []
    for part in re.split(r"[,、\n]+", text.replace("，", ",")):
        chunk = part.strip().replace("：", ":")
        if not chunk:
            continue
        match = _RANGE.match(chunk)
        if match is None:
            raise DeskError(field, _("“%(range)s” is not a range like 09:00-12:00.") % {"range": chunk})
        try:
            BusinessHours.from_json([[match[1].zfill(5), match[2].zfill(5)]])
        except ValidationError as exc:
            raise DeskError(field, f"“{chunk}”: {' '.join(exc.messages)}") from None
        if pairs and match[1].zfill(5) < pairs[-1][1]:
            raise DeskError(
                field,
                _("“%(range)s” starts before the previous range ends; list ranges in order without overlap.")
                % {"range": chunk},
            )
        pairs.append([match[1].zfill(5), match[2].zfill(5)])
    return pairs


def hours_text(value: Any) -> str:
    return ", ".join(f"{start}-{end}" for start, end in value or [])


def _minutes(data: Mapping[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise DeskError(name, _("Enter whole business minutes.")) from None
    if not 1 <= value <= MAX_TARGET:
        raise DeskError(name, _("Enter between 1 and %(max)s business minutes.") % {"max": MAX_TARGET})
    return value


def _flag(data: Mapping[str, Any], name: str, default: bool) -> bool:
    if name not in data:
        return default
    value = data[name]
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "on", "yes")


@transaction.atomic
def save_policy(policy: SlaPolicy | None, data: Mapping[str, Any], *, actor: User | None, via: str = "ui") -> SlaPolicy:
    """Create (policy=None) or update an SLA policy from form or API data."""
    creating = policy is None
    policy = policy or SlaPolicy()
    before = None if creating else snapshot(policy, POLICY_FIELDS)
    name = str(data.get("name", policy.name) or "").strip()
    if not name:
        raise DeskError("name", _("Give the policy a name."))
    priority = str(data.get("priority", policy.priority) or "")
    if priority not in Priority.values:
        raise DeskError("priority", _("Unknown priority: %(value)s") % {"value": priority})
    channel = str(data.get("channel", policy.channel) or "")
    if channel and channel not in Channel.values:
        raise DeskError("channel", _("Unknown channel: %(value)s") % {"value": channel})
    clash = SlaPolicy.objects.filter(priority=priority, channel=channel).exclude(pk=policy.pk)
    if clash.exists():
        raise DeskError("channel", _("A policy for this priority and channel exists already."))
    for target in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        setattr(policy, target, _minutes(data, target) if target in data else getattr(policy, target))
    if "business_hours" in data:
        raw = data["business_hours"]
        policy.business_hours = parse_hours_text(raw) if isinstance(raw, str) else parse_hours_text(hours_text(raw))
    policy.name = name[:100]
    policy.priority = priority
    policy.channel = channel
    policy.active = _flag(data, "active", policy.active if not creating else True)
    policy.save()
    record_change(
        actor=actor,
        obj=policy,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        before=before,
        after=snapshot(policy, POLICY_FIELDS),
        account_id=None,
        via=via,
    )
    return policy


@transaction.atomic
def save_status(status: Status | None, data: Mapping[str, Any], *, actor: User | None, via: str = "ui") -> Status:
    """Add (status=None) a custom status or rename / reorder / recategorise one. A new status's key comes
    from `key` or its name."""
    creating = status is None
    status = status or Status()
    before = None if creating else snapshot(status, STATUS_FIELDS)
    name = str(data.get("name", status.name) or "").strip()
    if not name:
        raise DeskError("name", _("Give the status a name."))
    category = str(data.get("category", status.category) or "")
    if category not in StatusCategory.values:
        raise DeskError("category", _("Unknown meaning: %(value)s") % {"value": category})
    if creating:
        key = slugify(str(data.get("key") or "")) or slugify(name) or f"status-{Status.objects.count() + 1}"
        if Status.objects.filter(key=key).exists():
            raise DeskError("key", _("A status with the key %(key)s exists already.") % {"key": key})
        status.key = key[:40]
    try:
        position = int(str(data.get("position", status.position if not creating else _next_position())))
    except ValueError:
        raise DeskError("position", _("Enter the order as a whole number.")) from None
    if not 0 <= position <= 32767:
        raise DeskError("position", _("Enter the order as a whole number.")) from None
    status.name = name[:60]
    status.category = category
    status.position = position
    status.pauses_sla = _flag(data, "pauses_sla", status.pauses_sla)
    status.active = _flag(data, "active", status.active if not creating else True)
    if not status.active and status.key in ("new", "open"):
        raise DeskError("active", _("The desk needs this status; it cannot be switched off."))
    status.save()
    if before is not None and before["pauses_sla"] != status.pauses_sla:
        sla.status_pausing_changed(status, timezone.now())
    record_change(
        actor=actor,
        obj=status,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        before=before,
        after=snapshot(status, STATUS_FIELDS),
        account_id=None,
        via=via,
    )
    return status


def _next_position() -> int:
    last = Status.objects.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 10


BUILT_IN = {key for key, *_rest in DEFAULT_STATUSES}


@transaction.atomic
def remove_status(status: Status, *, actor: User | None, via: str = "ui") -> bool:
    """Delete a custom status nobody uses; a status in use (or one the desk ships) is deactivated instead.
    True when deleted."""
    in_use = Inquiry.objects.filter(status=status).exists() or status.key in BUILT_IN
    before = snapshot(status, STATUS_FIELDS)
    if in_use:
        if status.key in ("new", "open"):
            raise DeskError("active", _("The desk needs this status; it cannot be switched off."))
        status.active = False
        status.save(update_fields=["active"])
        record_change(
            actor=actor,
            obj=status,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(status, STATUS_FIELDS),
            account_id=None,
            via=via,
        )
        return False
    record_change(
        actor=actor, obj=status, action=AuditAction.DELETE, before=before, after=None, account_id=None, via=via
    )
    status.delete()
    return True


@transaction.atomic
def save_team_settings(team: Team, data: Mapping[str, Any], *, actor: User | None, via: str = "ui") -> TeamSettings:
    """A team's routing: business hours as text ('09:00-12:00, 13:00-18:00'; empty = default) and round robin."""
    settings, created = TeamSettings.objects.get_or_create(team=team)
    before = None if created else snapshot(settings, TEAM_FIELDS)
    if "business_hours" in data:
        raw = data["business_hours"]
        settings.business_hours = parse_hours_text(raw if isinstance(raw, str) else hours_text(raw))
    settings.round_robin = _flag(data, "round_robin", settings.round_robin)
    settings.save(update_fields=["business_hours", "round_robin"])
    record_change(
        actor=actor,
        obj=settings,
        action=AuditAction.UPDATE,
        before=before or {},
        after=snapshot(settings, TEAM_FIELDS),
        account_id=None,
        via=via,
    )
    return settings


@transaction.atomic
def save_warn_before(value: Any, *, actor: User | None, via: str = "ui") -> SupportSettings:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise DeskError("warn_before_minutes", _("Enter whole business minutes.")) from None
    if not 0 <= minutes <= 24 * 60:
        raise DeskError("warn_before_minutes", _("Enter between 0 and 1440 business minutes."))
    settings, _created = SupportSettings.objects.get_or_create(pk=1)
    before = snapshot(settings, ["warn_before_minutes"])
    settings.warn_before_minutes = minutes
    settings.save(update_fields=["warn_before_minutes"])
    sla.forget_horizon()
    record_change(
        actor=actor,
        obj=settings,
        action=AuditAction.UPDATE,
        before=before,
        after=snapshot(settings, ["warn_before_minutes"]),
        account_id=None,
        via=via,
    )
    return settings
