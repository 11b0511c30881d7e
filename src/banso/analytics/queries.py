"""What the analytics pages and API read: segment members and their history, who the members are, and an
account's metric values and segments for the Account 360. Reads only; writes go through `services`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, QuerySet, Value
from django.utils.translation import gettext as _

from banso.accounts.models import Account, EndUser

from .catalogue import BUILTIN, CatalogueMetric
from .models import MetricDefinition, MetricValue, Segment, SegmentMembership
from .specs import MetricSpec, SpecError, Subject, parse_metric


def subject_of(segment: Segment) -> Subject:
    return "end_user" if segment.subject_type == "end_user" else "account"


def current_members(segment: Segment) -> QuerySet[SegmentMembership]:
    """The segment's current memberships, by subject id (for paging)."""
    return segment.memberships.filter(left_at__isnull=True).order_by("subject_id")


def membership_history(segment: Segment) -> QuerySet[Any]:
    """Entries and exits as one list, newest first: (subject_id, "entered" or "left", when)."""
    entered = segment.memberships.annotate(change=Value("entered", CharField()), at=F("entered_at"))
    left = segment.memberships.filter(left_at__isnull=False).annotate(
        change=Value("left", CharField()), at=F("left_at")
    )
    fields = ("subject_id", "change", "at")
    return entered.values_list(*fields).union(left.values_list(*fields), all=True).order_by("-at", "-subject_id")


@dataclass(frozen=True)
class SubjectRef:
    """How a page names a member: an account links to its 360; an end user shows name and external id."""

    id: int
    name: str
    external_id: str
    account_id: int | None = None
    exists: bool = True


def subjects_by_id(subject: Subject, ids: Iterable[int]) -> dict[int, SubjectRef]:
    """The given members' names in one query; an id whose record was deleted since is marked missing."""
    wanted = list(ids)
    found: dict[int, SubjectRef] = {}
    if subject == "account":
        for pk, name, external_id in Account.objects.filter(pk__in=wanted).values_list("pk", "name", "external_id"):
            found[pk] = SubjectRef(pk, name, external_id, account_id=pk)
    else:
        rows = EndUser.objects.filter(pk__in=wanted).values_list("pk", "name", "external_id", "account_id")
        for pk, name, external_id, account_id in rows:
            found[pk] = SubjectRef(pk, name, external_id, account_id=account_id)
    for pk in wanted:
        found.setdefault(pk, SubjectRef(pk, "", "", exists=False))
    return found


@dataclass(frozen=True)
class MetricReading:
    key: str
    label: str
    value: Any
    spec: MetricSpec


@dataclass(frozen=True)
class AccountAnalytics:
    """What the Account 360 shows: the account's current metric values and the segments it is in."""

    metrics: list[MetricReading]
    segments: list[Segment]
    as_of: dt.date | None  # the day the newest value took effect (None: nothing stored for this account)


def account_analytics(account_id: int) -> AccountAnalytics:
    """Two queries (values, segments), a third only when a custom metric has a value for this account.

    Only metrics with a stored value are listed: one never stored has always been at its empty value (0,
    or nothing), which for most accounts is every metric of the other teams' kinds (bookings for a SaaS)."""
    rows = list(
        MetricValue.objects.filter(subject_type="account", subject_id=account_id, valid_to__isnull=True).values_list(
            "metric", "value", "valid_from"
        )
    )
    stored = {metric: value for metric, value, _day in rows}
    metrics: dict[str, CatalogueMetric] = {m.key: m for m in BUILTIN if m.spec.subject == "account"}
    custom_keys = [key for key in stored if key not in metrics]
    if custom_keys:
        for definition in MetricDefinition.objects.filter(key__in=custom_keys, is_active=True):
            try:
                spec = parse_metric(definition.spec)
            except SpecError:
                continue
            metrics[definition.key] = CatalogueMetric(definition.key, definition.label, _("Custom"), spec, False)
    readings = [MetricReading(key, str(m.label), stored[key], m.spec) for key, m in metrics.items() if key in stored]
    memberships = (
        SegmentMembership.objects.filter(subject_id=account_id, left_at__isnull=True, segment__subject_type="account")
        .select_related("segment")
        .order_by("segment__name")
    )
    as_of = max((day for _metric, _value, day in rows), default=None)
    return AccountAnalytics(readings, [membership.segment for membership in memberships], as_of)
