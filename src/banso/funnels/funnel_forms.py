"""A funnel's definition (settings, stages, first-response hours): read from the page's form or the API's JSON
into one plain shape, checked by one function that names each bad field as a path (stages.2.event_kind,
business_hours.1), and saved by `save_definition` — the page and the API behave the same."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .models import Funnel, FunnelStage

SETTINGS = (
    "name",
    "description",
    "peer_attribute",
    "project_property",
    "period_days",
    "history_periods",
    "response_event_kind",
    "response_target_minutes",
    "business_hours",
)
KIND_RE = re.compile(r"^[a-z0-9_.:-]{1,50}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PEER_RE = re.compile(r"^(|[a-z_]+|attributes\.[A-Za-z0-9_]+)$")
EXTRA_STAGE_ROWS = 2
EXTRA_HOUR_ROWS = 2

Errors = list[tuple[str, str]]


def definition_of(funnel: Funnel) -> dict[str, Any]:
    """The funnel as the API returns it and the page fills its form with."""
    out: dict[str, Any] = {"id": funnel.pk, "is_default": funnel.is_default}
    out.update({name: getattr(funnel, name) for name in SETTINGS})
    out["stages"] = [
        {"id": s.pk, "label": s.label, "rate_label": s.rate_label, "event_kind": s.event_kind}
        for s in funnel.stages.order_by("position")
    ]
    return out


def _int(data: Mapping[str, Any], name: str, low: int, high: int, errors: Errors) -> int | None:
    raw = data.get(name)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors.append((name, _("Enter a whole number.")))
        return None
    if not low <= value <= high:
        errors.append((name, _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}))
        return None
    return value


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def clean_definition(data: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Check a definition; returns the cleaned values and the errors as (field path, message)."""
    errors: Errors = []
    clean: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append(("name", _("Enter a name.")))
    clean["name"] = name[:200]
    clean["description"] = str(data.get("description") or "").strip()
    peer = str(data.get("peer_attribute") or "").strip()
    if not PEER_RE.match(peer):
        errors.append(("peer_attribute", _('Enter an account field such as "industry" or "attributes.<key>".')))
    clean["peer_attribute"] = peer
    project = str(data.get("project_property") or "").strip()
    if project and not re.match(r"^[A-Za-z0-9_]{1,50}$", project):
        errors.append(("project_property", _("Use letters, digits and underscores only.")))
    clean["project_property"] = project
    clean["period_days"] = _int(data, "period_days", 7, 366, errors)
    clean["history_periods"] = _int(data, "history_periods", 1, 24, errors)
    clean["response_target_minutes"] = _int(data, "response_target_minutes", 1, 24 * 60, errors)

    stages_in = data.get("stages")
    stages: list[dict[str, Any]] = []
    if not isinstance(stages_in, list):
        errors.append(("stages", _("Give the stages as a list.")))
        stages_in = []
    kinds: dict[str, int] = {}
    for index, raw in enumerate(stages_in):
        raw = raw if isinstance(raw, Mapping) else {}
        label = str(raw.get("label") or "").strip()
        kind = str(raw.get("event_kind") or "").strip()
        if not label:
            errors.append((f"stages.{index}.label", _("Enter the stage's name.")))
        if not KIND_RE.match(kind):
            errors.append((f"stages.{index}.event_kind", _("Enter an event kind (lower-case letters, digits, _).")))
        elif kind in kinds:
            errors.append(
                (f"stages.{index}.event_kind", _("Stage %(n)s already counts this kind.") % {"n": kinds[kind] + 1})
            )
        else:
            kinds[kind] = index
        stage_id = str(raw.get("id") or "")
        stages.append(
            {
                "id": int(stage_id) if stage_id.isdigit() else None,
                "label": label[:100],
                "rate_label": str(raw.get("rate_label") or "").strip()[:100],
                "event_kind": kind,
            }
        )
    if isinstance(data.get("stages"), list) and len(stages) < 2:
        errors.append(("stages", _("A funnel needs at least two stages.")))
    clean["stages"] = stages

    response_kind = str(data.get("response_event_kind") or "").strip()
    if response_kind and not KIND_RE.match(response_kind):
        errors.append(("response_event_kind", _("Enter an event kind (lower-case letters, digits, _).")))
    elif response_kind and response_kind in kinds:
        errors.append(("response_event_kind", _("The first contact cannot be one of the stages' kinds.")))
    clean["response_event_kind"] = response_kind

    hours_in = data.get("business_hours") or []
    hours: list[list[str]] = []
    if not isinstance(hours_in, list):
        errors.append(("business_hours", _('Give the hours as a list of ["09:00", "12:00"] pairs.')))
        hours_in = []
    previous_end = -1
    for index, pair in enumerate(hours_in):
        field = f"business_hours.{index}"
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            errors.append((field, _('Give a range as ["09:00", "12:00"].')))
            continue
        start, end = (p.strip() for p in pair)
        if not (TIME_RE.match(start) and TIME_RE.match(end)):
            errors.append((field, _("Enter times as HH:MM.")))
            continue
        if _minutes(end) <= _minutes(start):
            errors.append((field, _("The range must end after it starts.")))
            continue
        if _minutes(start) < previous_end:
            errors.append((field, _("Ranges must be in order and must not overlap.")))
            continue
        previous_end = _minutes(end)
        hours.append([start, end])
    clean["business_hours"] = hours
    return clean, errors


def definition_from_post(post: Mapping[str, Any]) -> dict[str, Any]:
    """The page's form fields (stages-N-label, stages-N-order, stages-N-remove, hours-N-start…) as a
    definition: rows ordered by their order number, removed and empty rows dropped."""
    data: dict[str, Any] = {name: post.get(name, "") for name in SETTINGS if name != "business_hours"}
    rows = []
    index = 0
    while f"stages-{index}-label" in post:
        prefix = f"stages-{index}-"
        row = {key: str(post.get(prefix + key, "")).strip() for key in ("id", "label", "rate_label", "event_kind")}
        order_raw = str(post.get(prefix + "order", "")).strip()
        order = float(order_raw) if re.match(r"^\d+(\.\d+)?$", order_raw) else float(index + 1)
        if not post.get(prefix + "remove") and (row["label"] or row["event_kind"]):
            rows.append((order, index, row))
        index += 1
    data["stages"] = [row for _order, _index, row in sorted(rows, key=lambda item: (item[0], item[1]))]
    hours = []
    index = 0
    while f"hours-{index}-start" in post:
        start, end = str(post.get(f"hours-{index}-start", "")).strip(), str(post.get(f"hours-{index}-end", "")).strip()
        if start or end:
            hours.append([start, end])
        index += 1
    data["business_hours"] = hours
    return data


def save_definition(funnel: Funnel | None, clean: dict[str, Any], actor: User | None, via: str = "ui") -> Funnel:
    """Write a checked definition: settings, then stages updated in place (matched by id, else by event
    kind) so trackers pointing at a stage keep it; stages left out are deleted. One audit entry."""
    with transaction.atomic():
        creating = funnel is None
        if funnel is None:
            funnel = Funnel(is_default=not Funnel.objects.filter(is_default=True).exists())
            before: dict[str, Any] = {}
        else:
            funnel = Funnel.objects.select_for_update().get(pk=funnel.pk)
            before = {**snapshot(funnel, SETTINGS), "stages": definition_of(funnel)["stages"]}
        for name in SETTINGS:
            setattr(funnel, name, clean[name])
        funnel.updated_at = timezone.now()
        funnel.save()
        existing = {stage.pk: stage for stage in funnel.stages.all()}
        by_kind = {stage.event_kind: stage for stage in existing.values()}
        kept: list[FunnelStage] = []
        for position, row in enumerate(clean["stages"], start=1):
            stage = existing.get(row["id"]) if row["id"] else None
            stage = stage or by_kind.get(row["event_kind"])
            if stage is None or stage in kept:
                stage = FunnelStage(funnel=funnel)
            stage.position, stage.label = position, row["label"]
            stage.rate_label, stage.event_kind = row["rate_label"], row["event_kind"]
            kept.append(stage)
        kept_ids = {stage.pk for stage in kept if stage.pk}
        funnel.stages.exclude(pk__in=kept_ids).delete()
        # Positions and kinds are unique: park the kept rows out of the way before writing the new order.
        for offset, stage in enumerate(s for s in kept if s.pk):
            FunnelStage.objects.filter(pk=stage.pk).update(position=10000 + offset, event_kind=f"~{stage.pk}")
        for stage in kept:
            stage.save()
        after = {**snapshot(funnel, SETTINGS), "stages": definition_of(funnel)["stages"]}
        record_change(
            actor=actor,
            obj=funnel,
            action=AuditAction.CREATE if creating else AuditAction.UPDATE,
            before=before,
            after=after,
            account_id=None,
            via=via,
        )
    return funnel


def default_funnel() -> Funnel | None:
    return Funnel.objects.filter(is_default=True).first() or Funnel.objects.order_by("pk").first()


def form_rows(definition: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """Stage rows and hour rows for the page, with blank rows to add to."""
    stages = list(definition.get("stages") or []) + [{} for _ in range(EXTRA_STAGE_ROWS)]
    hours = list(definition.get("business_hours") or []) + [["", ""] for _ in range(EXTRA_HOUR_ROWS)]
    return stages, hours


def today() -> dt.date:
    return timezone.localdate()
