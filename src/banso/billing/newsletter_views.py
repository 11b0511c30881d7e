"""Newsletter pages: the list with rates, a newsletter's results, compose and edit (drafts), preview for a chosen
member, test send, schedule or send now, cancel; and the public open pixel and click redirect under /n/."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from banso.analytics.models import Segment, SubjectType
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import newsletters
from .models import Newsletter, NewsletterStatus


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _segments() -> Any:
    return Segment.objects.filter(subject_type=SubjectType.END_USER).order_by("name")


@requires(Capability.VIEW_BILLING)
def newsletter_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in NewsletterStatus.values else ""
    rows = list(newsletters.list_rows(status)[:200])
    return render(
        request,
        "billing/newsletter_list.html",
        {
            "rows": [{"n": row, **newsletters.row_rates(row)} for row in rows],
            "statuses": NewsletterStatus.choices,
            "status": status,
            "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
        },
    )


@requires(Capability.VIEW_BILLING)
def newsletter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter.objects.select_related("segment", "created_by"), pk=pk)
    return render(
        request,
        "billing/newsletter_detail.html",
        {
            "newsletter": newsletter,
            "results": newsletters.results(newsletter),
            "links": newsletters.links(newsletter.body),
            "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
            "audience_size": newsletters.audience(newsletter.segment).count()
            if newsletter.status in (NewsletterStatus.DRAFT, NewsletterStatus.SCHEDULED)
            else None,
            "tracking_attribute": newsletters.TRACKING_ATTRIBUTE,
            "now": timezone.localtime(),
        },
    )


def _values(request: HttpRequest) -> dict[str, Any]:
    return {
        "title": request.POST.get("title", ""),
        "subject": request.POST.get("subject", ""),
        "body": request.POST.get("body", ""),
        "segment": request.POST.get("segment", ""),
        "track": request.POST.get("track") == "on",
    }


def _compose(request: HttpRequest, newsletter: Newsletter | None) -> HttpResponse:
    if newsletter is not None and newsletter.status != NewsletterStatus.DRAFT:
        messages.error(request, _("Only a draft can be edited."))
        return redirect("billing:newsletter", newsletter.pk)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _values(request)
        try:
            saved = newsletters.save_draft(newsletter, values, _actor(request))
        except ValidationError as error:
            errors = error.message_dict
        except newsletters.NewsletterError as error:
            errors = {error.field: [error.message]}
        else:
            messages.success(request, _("Newsletter saved."))
            return redirect("billing:newsletter", saved.pk)
    elif newsletter is not None:
        values = {
            "title": newsletter.title,
            "subject": newsletter.subject,
            "body": newsletter.body,
            "segment": str(newsletter.segment_id or ""),
            "track": newsletter.track,
        }
    else:
        values = {"title": "", "subject": "", "body": "", "segment": "", "track": True}
    return render(
        request,
        "billing/newsletter_form.html",
        {
            "newsletter": newsletter,
            "values": values,
            "errors": errors,
            "segments": _segments(),
            "fields": newsletters.field_names(),
            "tracking_attribute": newsletters.TRACKING_ATTRIBUTE,
        },
        status=422 if errors else 200,
    )


@requires(Capability.MANAGE_BILLING)
def newsletter_new(request: HttpRequest) -> HttpResponse:
    return _compose(request, None)


@requires(Capability.MANAGE_BILLING)
def newsletter_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _compose(request, get_object_or_404(Newsletter, pk=pk))


@requires(Capability.VIEW_BILLING)
def newsletter_preview(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk)
    chosen = request.GET.get("member", "")
    member = newsletters.find_member(chosen)
    if chosen and member is None:
        messages.error(request, _("No member with that id or email."))
    sample = list(newsletters.audience(newsletter.segment).order_by("id")[:20])
    return render(
        request,
        "billing/newsletter_preview.html",
        {
            "newsletter": newsletter,
            "preview": newsletters.preview(newsletter, member),
            "chosen": chosen,
            "sample": sample,
            "tracked": member is not None and newsletter.track and newsletters.allows_tracking(member),
        },
    )


def _state_change(request: HttpRequest, pk: int, change: Any, done: str) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk)
    try:
        change(newsletter)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except newsletters.NewsletterError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("billing:newsletter", pk)


@requires(Capability.MANAGE_BILLING)
@require_POST
def newsletter_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the newsletter to the signed-in user's own address (rendered for a sample member, untracked)."""
    user = _actor(request)
    newsletter = get_object_or_404(Newsletter, pk=pk)
    try:
        if user is None:
            raise newsletters.NewsletterError("email", _("Your profile has no email address to send the test to."))
        newsletters.send_test(newsletter, user)
    except newsletters.NewsletterError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("A test was queued to %(email)s.") % {"email": user.email if user else ""})
    return redirect("billing:newsletter", pk)


@requires(Capability.MANAGE_BILLING)
@require_POST
def newsletter_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Schedule for the entered time (Japan time), or send now when the "now" button was pressed."""
    actor = _actor(request)
    if "now" in request.POST:
        return _state_change(
            request, pk, lambda n: newsletters.send_now(n, actor), _("Sending started: the mails are being queued.")
        )
    send_at = request.POST.get("send_at", "")
    return _state_change(request, pk, lambda n: newsletters.schedule(n, send_at, actor), _("Newsletter scheduled."))


@requires(Capability.MANAGE_BILLING)
@require_POST
def newsletter_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    return _state_change(request, pk, lambda n: newsletters.cancel(n, actor), _("Scheduled sending cancelled."))


# Public: reached from a member's mail, no sign-in ---------------------------------------------------------


@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The 1×1 GIF; an unknown token gets the same image and records nothing."""
    newsletters.record_open(token)
    response = HttpResponse(newsletters.GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store, max-age=0"
    return response


@never_cache
def click(request: HttpRequest, token: str, n: int) -> HttpResponse:
    """Redirect to link `n` of the delivery's newsletter; any other target is refused (no open redirect)."""
    target = newsletters.record_click(token, n)
    if target is None:
        return render(request, "billing/newsletter_link_invalid.html", status=404)
    return HttpResponseRedirect(target)
