"""Staff pages of the chat channel: recent chat sessions with their outcome and transcript, the widget's
embed snippet, and the widget, chatbot and mail settings (SupportSettings, MANAGE_SUPPORT)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires
from banso.core.services import record_change

from . import chat
from .models import ChatOutcome, ChatSession, SupportSettings

PER_PAGE = 50
SETTINGS_FIELDS = [
    "reply_address",
    "imap_host",
    "imap_port",
    "imap_ssl",
    "imap_user",
    "imap_password",
    "imap_folder",
    "inbound_secret",
    "widget_origins",
    "bot_enabled",
    "bot_name",
    "bot_min_score",
    "default_team",
]


class ChannelSettingsForm(forms.ModelForm[SupportSettings]):
    class Meta:
        model = SupportSettings
        fields = SETTINGS_FIELDS
        widgets = {
            "imap_password": forms.PasswordInput(render_value=True),
            "widget_origins": forms.Textarea(attrs={"rows": 3}),
        }


def embed_snippet(request: HttpRequest) -> str:
    base = request.build_absolute_uri("/").rstrip("/")
    src = request.build_absolute_uri(static("support/widget.js"))
    return f'<script src="{src}" data-banso="{base}" async></script>'


def _settings_values(row: SupportSettings) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in SETTINGS_FIELDS if name != "default_team"}
    values["default_team"] = row.default_team_id
    values["imap_password"] = "***" if row.imap_password else ""
    values["inbound_secret"] = "***" if row.inbound_secret else ""
    return values


@requires(Capability.VIEW_ACCOUNTS)
def session_list(request: HttpRequest) -> HttpResponse:
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in ChatOutcome.values else ""
    sessions = ChatSession.objects.select_related("inquiry", "resolved_by_article").order_by("-started_at", "-id")
    if outcome:
        sessions = sessions.filter(outcome=outcome)
    page = Paginator(IdFirstList(sessions), PER_PAGE).get_page(request.GET.get("page"))
    can_manage = has_capability(request.user, Capability.MANAGE_SUPPORT)
    config = SupportSettings.load()
    rate = chat.self_resolution_rate()
    return render(
        request,
        "support/chat_sessions.html",
        {
            "page": page,
            "outcome": outcome,
            "outcomes": ChatOutcome.choices,
            "rate": None if rate is None else round(rate * 100, 1),
            "snippet": embed_snippet(request),
            "form_url": request.build_absolute_uri("/support/widget/form/"),
            "can_manage": can_manage,
            "form": ChannelSettingsForm(instance=config) if can_manage else None,
        },
    )


@requires(Capability.VIEW_ACCOUNTS)
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(ChatSession.objects.select_related("inquiry", "resolved_by_article"), pk=pk)
    return render(request, "support/chat_session.html", {"session": session, "entries": chat.feed(session)})


@requires(Capability.MANAGE_SUPPORT)
@require_POST
def channel_settings(request: HttpRequest) -> HttpResponse:
    config = SupportSettings.load()
    before = _settings_values(config)
    form = ChannelSettingsForm(request.POST, instance=config)
    if not form.is_valid():
        sessions = ChatSession.objects.order_by("-started_at", "-id")
        return render(
            request,
            "support/chat_sessions.html",
            {
                "page": Paginator(IdFirstList(sessions), PER_PAGE).get_page(1),
                "outcomes": ChatOutcome.choices,
                "snippet": embed_snippet(request),
                "form_url": request.build_absolute_uri("/support/widget/form/"),
                "can_manage": True,
                "form": form,
            },
            status=422,
        )
    row = form.save()
    record_change(
        actor=request.user if isinstance(request.user, User) else None,
        obj=row,
        action=AuditAction.UPDATE,
        before=before,
        after=_settings_values(row),
        account_id=None,
    )
    messages.success(request, _("Channel settings saved."))
    return redirect("support:chat_sessions")
