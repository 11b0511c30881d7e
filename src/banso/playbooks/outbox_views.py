"""Outbox pages: counts per status, the filterable message list, one message with "retry now", and the public
unsubscribe page of tech-touch mail. Everything reads and writes through `outbox`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, requires

from . import outbox
from .models import MessageKind, MessageStatus, OutboxMessage

PAGE = 50


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=[("", "—"), *MessageStatus.choices]
    )
    kind = forms.ChoiceField(
        label=pgettext_lazy("outbox", "Kind"), required=False, choices=[("", "—"), *MessageKind.choices]
    )
    source = forms.CharField(label=pgettext_lazy("outbox", "Source"), required=False, max_length=30)
    q = forms.CharField(label=gettext_lazy("To, URL or subject"), required=False, max_length=200)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@requires(Capability.MANAGE_PLAYBOOKS)
def outbox_list(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    rows = outbox.filtered(
        status=data.get("status", ""),
        kind=data.get("kind", ""),
        source=data.get("source", ""),
        search=data.get("q", ""),
    )
    page = Paginator(IdFirstList(rows), PAGE).get_page(request.GET.get("page"))
    labels = dict(MessageStatus.choices)
    counts = [(status, labels[status], n) for status, n in outbox.counts().items()]
    context = {"form": form, "page": page, "counts": counts, "sources": outbox.sources()}
    return render(request, "playbooks/outbox_list.html", context)


@requires(Capability.MANAGE_PLAYBOOKS)
def outbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage.objects.select_related("account", "run__playbook"), pk=pk)
    context = {
        "message": message,
        "in_doubt": outbox.is_in_doubt(message),
        "unconfirmed": outbox.is_unconfirmed(message),
        "can_retry": message.status in outbox.RETRYABLE_BY_HAND,
        "max_attempts": outbox.MAX_ATTEMPTS,
        "batch": outbox.web_push_batch_summary(message),
    }
    return render(request, "playbooks/outbox_detail.html", context)


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    try:
        outbox.retry_now(message, _actor(request))
    except outbox.OutboxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The message will be sent again shortly."))
    return redirect("playbooks:outbox_message", pk=pk)


# Public: the unsubscribe link of tech-touch mail -------------------------------------------------------------


@csrf_exempt  # RFC 8058 one-click: mail providers POST here without a form; the signed token is the check
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm button (link scanners that follow links must not unsubscribe anyone); POST: record it."""
    email = outbox.address_for_token(token)
    if email is None:
        return render(request, "playbooks/outbox_unsubscribe.html", {"state": "invalid"}, status=404)
    if request.method == "POST":
        outbox.unsubscribe(email, via="one_click" if "List-Unsubscribe" in request.POST else "link")
        return render(request, "playbooks/outbox_unsubscribe.html", {"state": "done", "email": email})
    state = "already" if outbox.is_unsubscribed(email) else "confirm"
    return render(request, "playbooks/outbox_unsubscribe.html", {"state": state, "email": email})
