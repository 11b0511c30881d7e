"""Member newsletters (seed 003): composed in Japanese with merge fields, sent to an end-user segment or to every
member through the playbooks outbox, with opens and clicks tracked only for members who allow it.

Lifecycle. A newsletter is a draft (editable) until it is scheduled (`send_at`, entered in Asia/Tokyo) or sent
now; a scheduled one can be cancelled. `send_due` (the scheduler's task and `banso billing newsletters
send-due`) takes each due newsletter from scheduled to sending, freezes its recipients as NewsletterDelivery
rows (one per member with an email, unsubscribed addresses left out) in the same transaction, then queues one
outbox mail per delivery in batches, each batch in its own transaction, and marks the newsletter sent. Every
step can run again: the outbox queues a (source, dedupe_key) pair once, so a second run or a run resumed after
a crash sends nobody a second copy.

Tracking consent. A delivery is tracked when the newsletter's `track` is on and the member's
`EndUser.attributes["newsletter_tracking"]` is true (TRACKING_ATTRIBUTE). Tracked mail carries a 1×1 open
pixel (/n/o/<token>.gif) and its links go through /n/c/<token>/<n>, which redirects only to the n-th link
written in the newsletter's body (never to a URL taken from the request). Untracked mail has plain links and
no pixel. The unsubscribe link and List-Unsubscribe headers are the outbox's (`unsubscribable=True`).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from banso.accounts.choices import EndUserKind
from banso.accounts.models import EndUser
from banso.analytics.models import Segment, SegmentMembership, SubjectType
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot
from banso.playbooks import outbox, templating
from banso.playbooks.models import MessageStatus, OutboxMessage, Unsubscribe

from .models import Newsletter, NewsletterDelivery, NewsletterStatus

logger = logging.getLogger("banso.billing.newsletters")

TOKYO = ZoneInfo("Asia/Tokyo")
SOURCE = "newsletter"
TEST_SOURCE = "newsletter_test"
TRACKING_ATTRIBUTE = "newsletter_tracking"
BATCH = 500
AUDITED = ["title", "subject", "body", "segment", "track", "status", "scheduled_at"]
# Links: ASCII URL characters only, so a URL written right before Japanese text ("…/spring/をご覧ください")
# ends where the Japanese starts; trailing punctuation is not part of it.
URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
TRAILING = ".,;:!?)]'"
TRUE_VALUES = (True, 1, "1", "true", "True", "yes", "on")
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

# The merge fields a newsletter may use (playbooks.templating checks them at save).
FIELDS: dict[str, Any] = {
    "member": {"id": {}, "name": {}, "email": {}, "member_since": {}, "attributes": templating.ANY},
    "newsletter": {"title": {}},
    "company": {"name": {}},
}


class NewsletterError(Exception):
    """A request refused because of the newsletter's state; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# Merge fields ----------------------------------------------------------------------------------------------


def field_names() -> list[str]:
    names = []
    for top, children in FIELDS.items():
        for child, below in children.items():
            names.append(f"{top}.{child}" + (".<key>" if below is templating.ANY else ""))
    return names


def japanese_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def member_context(end_user: EndUser, title: str = "") -> dict[str, Any]:
    since = timezone.localtime(end_user.created_at, TOKYO).date() if end_user.created_at else None
    return {
        "member": {
            "id": end_user.pk,
            "name": end_user.name,
            "email": end_user.email,
            "member_since": japanese_date(since),
            "attributes": dict(end_user.attributes or {}),
        },
        "newsletter": {"title": title},
        "company": {"name": settings.BANSO_COMPANY_NAME},
    }


def sample_context(title: str = "", name: str = "山田 花子", email: str = "hanako@example.jp") -> dict[str, Any]:
    return {
        "member": {
            "id": 0,
            "name": name,
            "email": email,
            "member_since": "2024年4月1日",
            "attributes": {},
        },
        "newsletter": {"title": title},
        "company": {"name": settings.BANSO_COMPANY_NAME},
    }


def allows_tracking(end_user: EndUser) -> bool:
    return (end_user.attributes or {}).get(TRACKING_ATTRIBUTE) in TRUE_VALUES


# Links and rendering ---------------------------------------------------------------------------------------


def _urls(text: str) -> Iterator[tuple[int, int, str]]:
    for found in URL.finditer(text):
        url = found.group(0).rstrip(TRAILING)
        yield found.start(), found.start() + len(url), url


def links(body: str) -> list[str]:
    """The links written in a newsletter's body, in order, each once: the only targets its click redirects may
    go to. A URL built from a merge field ("https://…/{{ member.id }}") differs per member and is not tracked."""
    found: dict[str, None] = {}
    for _start, end, url in _urls(body):
        if body.startswith(("{{", "{%"), end):
            continue
        found.setdefault(url, None)
    return list(found)


def _public(path: str) -> str:
    return str(getattr(settings, "BANSO_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/") + path


@lru_cache(maxsize=1)
def _paths() -> tuple[str, str]:
    """The click and open paths with placeholders, resolved once (reverse() per mail adds up on big sends)."""
    return (
        reverse("newsletter_public:click", args=["TOKEN", 0]).replace("/0", "/{n}").replace("TOKEN", "{token}"),
        reverse("newsletter_public:open", args=["TOKEN"]).replace("TOKEN", "{token}"),
    )


def click_url(token: str, n: int) -> str:
    return _public(_paths()[0].format(token=token, n=n))


def open_url(token: str) -> str:
    return _public(_paths()[1].format(token=token))


@dataclass
class Rendered:
    subject: str
    text: str
    html: str


def render(newsletter: Newsletter, context: dict[str, Any], token: str | None = None) -> Rendered:
    """The mail for one member; with a token (a tracked delivery) its links go through the click redirect and
    the HTML part carries the open pixel."""
    subject = " ".join(templating.render(newsletter.subject, context).split())
    body = templating.render(newsletter.body, context)
    numbered = {url: n for n, url in enumerate(links(newsletter.body))} if token else {}
    text_parts: list[str] = []
    html_parts: list[str] = []
    last = 0
    for start, end, url in _urls(body):
        text_parts.append(body[last:start])
        html_parts.append(html.escape(body[last:start]))
        target = click_url(token, numbered[url]) if token and url in numbered else url
        text_parts.append(target)
        html_parts.append(f'<a href="{html.escape(target)}">{html.escape(url)}</a>')
        last = end
    text_parts.append(body[last:])
    html_parts.append(html.escape(body[last:]))
    markup = "".join(html_parts).replace("\r\n", "\n").replace("\n", "<br>\n")
    page = f'<div style="font-family:sans-serif;line-height:1.7">{markup}</div>'
    if token:
        page += f'\n<img src="{html.escape(open_url(token))}" width="1" height="1" alt="" style="border:0">'
    return Rendered(subject=subject, text="".join(text_parts), html=page)


# Composing -------------------------------------------------------------------------------------------------


def _segment(value: Any) -> Segment | None:
    if value in (None, ""):
        return None
    if isinstance(value, Segment):
        segment: Segment | None = value
    else:
        try:
            segment = Segment.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            segment = None
    if segment is None or segment.subject_type != SubjectType.END_USER:
        raise ValidationError({"segment": [_("Choose a segment of end users (members), or all members.")]})
    return segment


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, label in (("title", _("Title")), ("subject", _("Subject")), ("body", _("Body"))):
        text = str(data.get(name) or "").strip()
        if not text:
            errors[name] = [_("%(field)s is required.") % {"field": label}]
        elif name != "body" and len(text) > 200:
            errors[name] = [_("%(field)s is at most 200 characters.") % {"field": label}]
        elif name != "title":
            problems = templating.check(text, FIELDS, sample_context())
            if problems:
                errors[name] = problems
        values[name] = text
    try:
        values["segment"] = _segment(data.get("segment"))
    except ValidationError as error:
        errors.update(error.message_dict)
    values["track"] = bool(data.get("track", True))
    if errors:
        raise ValidationError(errors)
    return values


def save_draft(newsletter: Newsletter | None, data: dict[str, Any], actor: User | None, via: str = "ui") -> Newsletter:
    """Create a draft, or change one (only drafts change). Refusals name the field."""
    values = _clean(data)
    with transaction.atomic():
        if newsletter is None:
            newsletter = Newsletter(created_by=actor, **values)
            newsletter.save()
            record_change(
                actor=actor,
                obj=newsletter,
                action=AuditAction.CREATE,
                before=None,
                after=snapshot(newsletter, AUDITED),
                account_id=None,
                via=via,
            )
            return newsletter
        locked = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
        if locked.status != NewsletterStatus.DRAFT:
            raise NewsletterError("status", _("Only a draft can be edited."))
        before = snapshot(locked, AUDITED)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        record_change(
            actor=actor,
            obj=locked,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(locked, AUDITED),
            account_id=None,
            via=via,
        )
    newsletter.refresh_from_db()
    return newsletter


def parse_send_at(value: str | dt.datetime) -> dt.datetime:
    """A send time as entered: "2026-12-01T09:00" (a datetime-local field) or "2026-12-01 09:00" is Japan time;
    an ISO time with an offset keeps it."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError({"send_at": [_("Enter the send time as YYYY-MM-DD HH:MM (Japan time).")]}) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=TOKYO)
    return moment


def _change_status(
    newsletter: Newsletter, actor: User | None, via: str, allowed: Iterable[str], message: str, **changes: Any
) -> Newsletter:
    with transaction.atomic():
        locked = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
        if locked.status not in allowed:
            raise NewsletterError("status", message)
        before = snapshot(locked, AUDITED)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changes))
        record_change(
            actor=actor,
            obj=locked,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(locked, AUDITED),
            account_id=None,
            via=via,
        )
    newsletter.refresh_from_db()
    return newsletter


def schedule(
    newsletter: Newsletter,
    send_at: str | dt.datetime,
    actor: User | None,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> Newsletter:
    """Schedule a draft for `send_at` (Japan time when no offset is given), which must be in the future."""
    moment = parse_send_at(send_at)
    if moment <= (now or timezone.now()):
        raise ValidationError({"send_at": [_("The send time must be in the future.")]})
    return _change_status(
        newsletter,
        actor,
        via,
        [NewsletterStatus.DRAFT],
        _("Only a draft can be scheduled."),
        status=NewsletterStatus.SCHEDULED,
        scheduled_at=moment,
    )


def send_now(newsletter: Newsletter, actor: User | None, via: str = "ui", now: dt.datetime | None = None) -> Newsletter:
    """Schedule a draft for now and queue the sending task, so it goes out without waiting for the scheduler."""
    newsletter = _change_status(
        newsletter,
        actor,
        via,
        [NewsletterStatus.DRAFT],
        _("Only a draft can be sent."),
        status=NewsletterStatus.SCHEDULED,
        scheduled_at=now or timezone.now(),
    )
    from .newsletter_tasks import send_due_newsletters

    transaction.on_commit(send_due_newsletters.enqueue)
    return newsletter


def cancel(newsletter: Newsletter, actor: User | None, via: str = "ui") -> Newsletter:
    return _change_status(
        newsletter,
        actor,
        via,
        [NewsletterStatus.SCHEDULED],
        _("Only a scheduled newsletter that has not started sending can be cancelled."),
        status=NewsletterStatus.CANCELLED,
    )


# Audience and preview --------------------------------------------------------------------------------------


def audience(segment: Segment | None) -> QuerySet[EndUser]:
    """Members who would receive it now: the segment's current end users, or every member, with an email."""
    members = EndUser.objects.exclude(email="")
    if segment is None:
        return members.filter(kind=EndUserKind.MEMBER)
    current = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values("subject_id")
    return members.filter(pk__in=current)


def find_member(value: str) -> EndUser | None:
    """A member by id or email (the preview's chooser)."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return EndUser.objects.filter(pk=int(value)).first()
    return EndUser.objects.filter(email__iexact=value).order_by("id").first()


def preview(newsletter: Newsletter, end_user: EndUser | None) -> dict[str, Any]:
    """The mail as `end_user` (or a sample member) would read it, untracked; or the template errors."""
    errors = templating.check(newsletter.subject, FIELDS, sample_context()) + templating.check(
        newsletter.body, FIELDS, sample_context()
    )
    if errors:
        return {"errors": errors}
    context = member_context(end_user, newsletter.title) if end_user else sample_context(newsletter.title)
    rendered = render(newsletter, context)
    return {"subject": rendered.subject, "text": rendered.text, "member": end_user, "links": links(newsletter.body)}


def send_test(newsletter: Newsletter, user: User) -> OutboxMessage:
    """The mail to the signed-in user's own address, rendered for a sample member named after them, untracked."""
    if not user.email:
        raise NewsletterError("email", _("Your profile has no email address to send the test to."))
    if outbox.is_unsubscribed(user.email):
        raise NewsletterError("email", _("Your address has unsubscribed; the test would not be delivered."))
    rendered = render(newsletter, sample_context(newsletter.title, name=str(user), email=user.email))
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Test] %(subject)s") % {"subject": rendered.subject}
    with transaction.atomic():
        return outbox.enqueue_email(
            user.email, subject, rendered.text, html=rendered.html, source=TEST_SOURCE, unsubscribable=True
        )


# Sending ---------------------------------------------------------------------------------------------------


def due(now: dt.datetime) -> QuerySet[Newsletter]:
    """Scheduled ones whose time has come, and any left sending (a run that stopped half-way)."""
    return Newsletter.objects.filter(
        Q(status=NewsletterStatus.SCHEDULED, scheduled_at__lte=now) | Q(status=NewsletterStatus.SENDING)
    ).order_by("scheduled_at", "id")


def _freeze(newsletter_id: int, now: dt.datetime) -> bool:
    """Take a due newsletter to sending and write its deliveries, in one transaction; False when it is not
    due any more (cancelled, or another run took it)."""
    with transaction.atomic():
        locked = Newsletter.objects.select_for_update().filter(pk=newsletter_id).first()
        if locked is None:
            return False
        if locked.status == NewsletterStatus.SENDING:
            return True
        if locked.status != NewsletterStatus.SCHEDULED or not locked.scheduled_at or locked.scheduled_at > now:
            return False
        gone = set(Unsubscribe.objects.values_list("email", flat=True))
        rows: list[NewsletterDelivery] = []
        total = 0
        members = audience(locked.segment).only("id", "email", "attributes").order_by("id")
        for member in members.iterator(chunk_size=2000):
            if member.email.strip().lower() in gone:
                continue
            rows.append(
                NewsletterDelivery(
                    newsletter=locked,
                    end_user_id=member.pk,
                    email=member.email.strip(),
                    token=secrets.token_urlsafe(24),
                    tracked=locked.track and allows_tracking(member),
                )
            )
            if len(rows) >= 2000:
                total += len(NewsletterDelivery.objects.bulk_create(rows, ignore_conflicts=True))
                rows = []
        total += len(NewsletterDelivery.objects.bulk_create(rows, ignore_conflicts=True))
        locked.status = NewsletterStatus.SENDING
        locked.recipients = locked.deliveries.count()
        locked.save(update_fields=["status", "recipients"])
    logger.info("newsletter %s: %s recipients frozen", newsletter_id, total)
    return True


def _enqueue_batch(newsletter: Newsletter, batch: int) -> int:
    with transaction.atomic():
        pending = list(
            newsletter.deliveries.filter(outbox_message__isnull=True).select_related("end_user").order_by("id")[:batch]
        )
        for delivery in pending:
            rendered = render(
                newsletter,
                member_context(delivery.end_user, newsletter.title),
                delivery.token if delivery.tracked else None,
            )
            delivery.outbox_message = outbox.enqueue_email(
                delivery.email,
                rendered.subject,
                rendered.text,
                html=rendered.html,
                source=SOURCE,
                dedupe_key=f"{newsletter.id}:{delivery.end_user_id}",
                unsubscribable=True,
            )
        NewsletterDelivery.objects.bulk_update(pending, ["outbox_message"])
    return len(pending)


def send(newsletter_id: int, now: dt.datetime | None = None, batch: int = BATCH) -> Newsletter | None:
    """Send one due newsletter (see the module docstring); None when it was not due."""
    now = now or timezone.now()
    if not _freeze(newsletter_id, now):
        return None
    newsletter = Newsletter.objects.get(pk=newsletter_id)
    while _enqueue_batch(newsletter, batch):
        pass
    Newsletter.objects.filter(pk=newsletter_id, status=NewsletterStatus.SENDING).update(
        status=NewsletterStatus.SENT, sent_at=now
    )
    newsletter.refresh_from_db()
    logger.info("newsletter %s sent to %s members", newsletter_id, newsletter.recipients)
    return newsletter


def send_due(now: dt.datetime | None = None, batch: int = BATCH) -> list[Newsletter]:
    """Send every due newsletter; running it again (or twice at once) sends nobody a second copy."""
    now = now or timezone.now()
    sent = []
    for pk in list(due(now).values_list("pk", flat=True)):
        done = send(pk, now, batch)
        if done is not None:
            sent.append(done)
    return sent


def due_job(now: dt.datetime) -> str | None:
    """The scheduler's job: queue the sending task when a newsletter is due and no such task is pending."""
    from banso.core.schedule import enqueue_unless_pending

    from .newsletter_tasks import send_due_newsletters

    if not due(now).exists():
        return None
    if not enqueue_unless_pending(send_due_newsletters, now, stale_after=dt.timedelta(minutes=30)):
        return None
    return "newsletters: sending queued"


def register() -> None:
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("billing.newsletters", due_job))


# Tracking --------------------------------------------------------------------------------------------------


def record_open(token: str, now: dt.datetime | None = None) -> bool:
    """The open pixel was fetched: the first open of a tracked delivery is kept."""
    return bool(
        NewsletterDelivery.objects.filter(token=token, tracked=True, opened_at__isnull=True).update(
            opened_at=now or timezone.now()
        )
    )


def record_click(token: str, n: int, now: dt.datetime | None = None) -> str | None:
    """The target of link `n` of the delivery's newsletter (None for an unknown token or link), counting the
    click when the delivery is tracked. A click also counts as an open (images are often blocked)."""
    delivery = NewsletterDelivery.objects.select_related("newsletter").filter(token=token).first()
    if delivery is None:
        return None
    targets = links(delivery.newsletter.body)
    if not 0 <= n < len(targets):
        return None
    if delivery.tracked:
        now = now or timezone.now()
        NewsletterDelivery.objects.filter(pk=delivery.pk).update(
            clicks=F("clicks") + 1,
            clicked_at=Coalesce(F("clicked_at"), now),
            opened_at=Coalesce(F("opened_at"), now),
        )
    return targets[n]


# Results ---------------------------------------------------------------------------------------------------


def with_counts(newsletters: QuerySet[Newsletter]) -> QuerySet[Newsletter]:
    """Each newsletter with its delivery counts, in one query."""

    def deliveries(**where: Any) -> Count:
        return Count("deliveries", filter=Q(**{f"deliveries__{k}": v for k, v in where.items()}))

    return newsletters.annotate(
        delivered=deliveries(outbox_message__status=MessageStatus.SENT),
        failed=deliveries(outbox_message__status=MessageStatus.FAILED),
        suppressed=deliveries(outbox_message__status=MessageStatus.SUPPRESSED),
        tracked_count=deliveries(tracked=True),
        opened=deliveries(opened_at__isnull=False),
        clicked=deliveries(clicked_at__isnull=False),
    )


def rate(part: int, whole: int) -> Decimal | None:
    """A percentage with one decimal, or None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def results(newsletter: Newsletter) -> dict[str, Any]:
    """Delivered (the outbox sent it), failed, not sent because unsubscribed, opened and clicked (of tracked
    deliveries: rates are of members who allow tracking), and recipients who unsubscribed after it was sent."""
    counted: Any = with_counts(Newsletter.objects.filter(pk=newsletter.pk)).get()
    unsubscribed = 0
    if newsletter.sent_at:
        emails = newsletter.deliveries.annotate(address=Lower("email")).values("address")
        unsubscribed = Unsubscribe.objects.filter(email__in=emails, created_at__gte=newsletter.sent_at).count()
    waiting = newsletter.deliveries.filter(
        Q(outbox_message__isnull=True) | Q(outbox_message__status__in=(*outbox.DUE, MessageStatus.SENDING))
    ).count()
    return {
        "recipients": newsletter.recipients,
        "delivered": counted.delivered,
        "failed": counted.failed,
        "suppressed": counted.suppressed,
        "waiting": waiting,
        "tracked": counted.tracked_count,
        "opened": counted.opened,
        "clicked": counted.clicked,
        "unsubscribed": unsubscribed,
        "delivered_rate": rate(counted.delivered, newsletter.recipients),
        "opened_rate": rate(counted.opened, counted.tracked_count),
        "clicked_rate": rate(counted.clicked, counted.tracked_count),
        "unsubscribed_rate": rate(unsubscribed, newsletter.recipients),
    }


def list_rows(status: str = "") -> QuerySet[Newsletter]:
    rows = with_counts(Newsletter.objects.select_related("segment"))
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def row_rates(newsletter: Any) -> dict[str, Decimal | None]:
    return {
        "delivered_rate": rate(newsletter.delivered, newsletter.recipients),
        "opened_rate": rate(newsletter.opened, newsletter.tracked_count),
        "clicked_rate": rate(newsletter.clicked, newsletter.tracked_count),
    }
