"""Improvement requests to product, to the rules or to the help content, raised from what inquiries show and
linked to the inquiry types and inquiries behind them; once shipped, the effect view compares the linked
types' weekly volume before and after (absolute and per 1,000 inquiries)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .desk import DeskError
from .models import ImprovementRequest, ImprovementStatus, ImprovementTarget, Inquiry, InquiryType

TOKYO = ZoneInfo("Asia/Tokyo")
DEFAULT_EFFECT_WEEKS = 8
S = ImprovementStatus
# Which status may follow which (proposed -> accepted -> in progress -> shipped; rejected from any open one).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PROPOSED: (S.ACCEPTED, S.IN_PROGRESS, S.REJECTED),
    S.ACCEPTED: (S.IN_PROGRESS, S.SHIPPED, S.REJECTED, S.PROPOSED),
    S.IN_PROGRESS: (S.SHIPPED, S.REJECTED, S.ACCEPTED),
    S.SHIPPED: (S.IN_PROGRESS,),
    S.REJECTED: (S.PROPOSED,),
}
FIELDS = ["title", "description", "target", "status", "shipped_at"]


def _audit(actor: User | None, request: ImprovementRequest, before: dict[str, Any] | None, via: str) -> None:
    record_change(
        actor=actor,
        obj=request,
        action=AuditAction.UPDATE if before is not None else AuditAction.CREATE,
        before=before,
        after=snapshot(request, FIELDS),
        account_id=None,
        via=via,
    )


@transaction.atomic
def create_request(
    *,
    title: str,
    description: str = "",
    target: str = ImprovementTarget.PRODUCT,
    types: Iterable[InquiryType] = (),
    inquiries: Iterable[Inquiry] = (),
    actor: User | None = None,
    at: dt.datetime | None = None,
    via: str = "ui",
) -> ImprovementRequest:
    title = title.strip()
    if not title:
        raise DeskError("title", _("The title is empty."))
    if target not in ImprovementTarget.values:
        raise DeskError("target", _("Unknown target: %(value)s") % {"value": target})
    request = ImprovementRequest.objects.create(
        title=title[:200],
        description=description.strip(),
        target=target,
        created_by=actor,
        created_at=at or timezone.now(),
    )
    request.inquiry_types.set(list(types))
    request.inquiries.set(list(inquiries))
    _audit(actor, request, None, via)
    return request


@transaction.atomic
def update_request(
    request: ImprovementRequest,
    *,
    title: str | None = None,
    description: str | None = None,
    target: str | None = None,
    types: Iterable[InquiryType] | None = None,
    actor: User | None = None,
    via: str = "ui",
) -> ImprovementRequest:
    before = snapshot(request, FIELDS)
    if title is not None:
        if not title.strip():
            raise DeskError("title", _("The title is empty."))
        request.title = title.strip()[:200]
    if description is not None:
        request.description = description.strip()
    if target is not None:
        if target not in ImprovementTarget.values:
            raise DeskError("target", _("Unknown target: %(value)s") % {"value": target})
        request.target = target
    request.save()
    if types is not None:
        request.inquiry_types.set(list(types))
    _audit(actor, request, before, via)
    return request


@transaction.atomic
def set_status(
    request: ImprovementRequest,
    status: str,
    *,
    actor: User | None = None,
    at: dt.datetime | None = None,
    via: str = "ui",
) -> ImprovementRequest:
    """Move a request along; shipping stamps shipped_at (the effect view's dividing line). Audited."""
    if status not in S.values:
        raise DeskError("status", _("Unknown status: %(value)s") % {"value": status})
    if status == request.status:
        return request
    if status not in TRANSITIONS[request.status]:
        raise DeskError(
            "status",
            _("A request cannot go from %(old)s to %(new)s.")
            % {"old": S(request.status).label, "new": S(status).label},
        )
    before = snapshot(request, FIELDS)
    request.status = status
    if status == S.SHIPPED:
        request.shipped_at = at or timezone.now()
    elif request.shipped_at is not None:
        request.shipped_at = None
    request.save(update_fields=["status", "shipped_at"])
    _audit(actor, request, before, via)
    return request


@transaction.atomic
def link_inquiries(
    request: ImprovementRequest,
    inquiries: Iterable[Inquiry],
    *,
    add_types: bool = True,
    actor: User | None = None,
    via: str = "ui",
) -> int:
    """Attach inquiries (from a conversation or an analytics drill-down); their confirmed types join the
    request's types unless told not to. Returns how many were newly linked."""
    items = list(inquiries)
    already = set(request.inquiries.filter(pk__in=[i.pk for i in items]).values_list("pk", flat=True))
    new = [i for i in items if i.pk not in already]
    request.inquiries.add(*new)
    if add_types:
        type_ids = {i.inquiry_type_id for i in new if i.inquiry_type_id}
        if type_ids:
            request.inquiry_types.add(*type_ids)
    if new:
        record_change(
            actor=actor,
            obj=request,
            action=AuditAction.UPDATE,
            before={"inquiries": sorted(already)},
            after={"inquiries": sorted(already | {i.pk for i in new})},
            account_id=None,
            via=via,
        )
    return len(new)


@transaction.atomic
def unlink_inquiry(request: ImprovementRequest, inquiry: Inquiry, actor: User | None = None) -> None:
    request.inquiries.remove(inquiry)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def effect(request: ImprovementRequest, weeks: int = DEFAULT_EFFECT_WEEKS) -> dict[str, Any] | None:
    """Weekly volume of the linked types for `weeks` whole weeks before and after the week it shipped
    (absolute and per 1,000 inquiries of all types); None until shipped or without linked types."""
    if request.shipped_at is None:
        return None
    type_ids = list(request.inquiry_types.values_list("pk", flat=True))
    if not type_ids:
        return None
    shipped_week = _week_start(timezone.localtime(request.shipped_at, TOKYO).date())
    first = shipped_week - dt.timedelta(weeks=weeks)
    last = shipped_week + dt.timedelta(weeks=weeks)  # exclusive; the shipping week is the first "after"
    today_week = _week_start(timezone.localdate())
    since = dt.datetime.combine(first, dt.time(), tzinfo=TOKYO)
    until = dt.datetime.combine(last, dt.time(), tzinfo=TOKYO)
    base = Inquiry.objects.filter(created_at__gte=since, created_at__lt=until, merged_into__isnull=True)

    def weekly(qs: Any) -> dict[dt.date, int]:
        rows = (
            qs.annotate(week=Trunc("created_at", "week", tzinfo=TOKYO))
            .values("week")
            .annotate(n=Count("id"))
            .values_list("week", "n")
        )
        out = {}
        for week, n in rows:
            day = timezone.localtime(week, TOKYO).date() if isinstance(week, dt.datetime) else week
            out[day] = n
        return out

    linked = weekly(base.filter(inquiry_type_id__in=type_ids))
    total = weekly(base)
    rows = []
    week = first
    while week < last and week <= today_week:
        n, all_n = linked.get(week, 0), total.get(week, 0)
        rows.append(
            {
                "week": week,
                "after": week >= shipped_week,
                "count": n,
                "total": all_n,
                "per_1000": (n * 1000 / all_n) if all_n else None,
            }
        )
        week += dt.timedelta(weeks=1)

    def summary(part: list[dict[str, Any]]) -> dict[str, Any]:
        count = sum(r["count"] for r in part)
        total_n = sum(r["total"] for r in part)
        return {
            "weeks": len(part),
            "count": count,
            "per_week": count / len(part) if part else None,
            "per_1000": count * 1000 / total_n if total_n else None,
        }

    before = summary([r for r in rows if not r["after"]])
    after = summary([r for r in rows if r["after"]])
    change = None
    if before["per_1000"] and after["per_1000"] is not None:
        change = after["per_1000"] / before["per_1000"] - 1
    return {
        "weeks": weeks,
        "shipped_week": shipped_week,
        "rows": rows,
        "before": before,
        "after": after,
        "change_per_1000": change,
        "types": list(request.inquiry_types.values_list("name", flat=True)),
    }
