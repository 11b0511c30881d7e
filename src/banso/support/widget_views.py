"""The chat widget's public endpoints (token-authorised, CORS for SupportSettings.widget_origins) and the
public web form. The widget talks over the websocket when it can; these endpoints are its start and its
polling fallback."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import chat, delivery, desk
from .models import Category, ChatOutcome, ChatSession, SupportSettings

MAX_BODY = 20_000


def _cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and chat.origin_allowed(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
    return response


def _json(request: HttpRequest, data: dict[str, Any], status: int = 200) -> HttpResponse:
    return _cors(request, JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False}))


def _error(request: HttpRequest, field: str, message: str, status: int = 422) -> HttpResponse:
    return _json(request, {"error": {"field": field, "message": str(message)}}, status=status)


def _payload(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise desk.DeskError("body", str(_("The request is too large.")))
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise desk.DeskError("body", str(_("The request is not valid JSON."))) from exc
        if not isinstance(data, dict):
            raise desk.DeskError("body", str(_("The request is not valid JSON.")))
        return data
    return request.POST.dict()


def _refused_origin(request: HttpRequest) -> HttpResponse | None:
    origin = request.headers.get("Origin", "")
    if origin and not chat.origin_allowed(origin):
        return _error(request, "origin", str(_("This site may not use the chat widget.")), status=403)
    return None


def _state(session: ChatSession, after: int) -> dict[str, Any]:
    return {
        "token": session.token,
        "outcome": session.outcome,
        "handed_off": session.inquiry_id is not None,
        "inquiry": session.inquiry.number if session.inquiry else None,
        "ended": session.ended_at is not None,
        "entries": chat.feed(session, after),
    }


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def create_session(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if (refused := _refused_origin(request)) is not None:
        return refused
    try:
        data = _payload(request)
        session = chat.start_session(
            visitor_name=str(data.get("name", "")),
            visitor_email=str(data.get("email", "")),
            page_url=str(data.get("page", ""))[:1000],
        )
    except desk.DeskError as exc:
        return _error(request, exc.field, exc.message)
    config = SupportSettings.load()
    state = _state(session, 0)
    state["bot_name"] = config.bot_name
    state["bot_enabled"] = config.bot_enabled
    return _json(request, state, status=201)


def _session_or_404(request: HttpRequest, token: str) -> ChatSession | HttpResponse:
    session = chat.session_by_token(token)
    if session is None:
        return _error(request, "token", str(_("No such chat session.")), status=404)
    return session


@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def session_messages(request: HttpRequest, token: str) -> HttpResponse:
    """GET ?after=<seq>: the entries since; POST {"text"}: the visitor's line (answered by the bot)."""
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if (refused := _refused_origin(request)) is not None:
        return refused
    found = _session_or_404(request, token)
    if isinstance(found, HttpResponse):
        return found
    session = found
    try:
        after = int(request.GET.get("after", "0") or 0)
    except ValueError:
        return _error(request, "after", str(_("Enter a whole number.")))
    if request.method == "POST":
        try:
            chat.visitor_says(session, str(_payload(request).get("text", "")))
        except desk.DeskError as exc:
            return _error(request, exc.field, exc.message)
        session.refresh_from_db()
    return _json(request, _state(session, after))


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def session_action(request: HttpRequest, token: str, action: str) -> HttpResponse:
    """POST resolve ("解決しました") or handoff ("担当者と話す")."""
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    if (refused := _refused_origin(request)) is not None:
        return refused
    found = _session_or_404(request, token)
    if isinstance(found, HttpResponse):
        return found
    try:
        if action == "resolve":
            chat.resolve(found)
        elif action == "handoff":
            chat.hand_off(found)
        else:
            return _error(request, "action", str(_("Unknown action.")), status=404)
    except desk.DeskError as exc:
        return _error(request, exc.field, exc.message)
    found.refresh_from_db()
    try:
        after = int(request.GET.get("after", "0") or 0)
    except ValueError:
        after = 0
    return _json(request, _state(found, after))


# The web form -----------------------------------------------------------------------------------------------


class InquiryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.none(), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    message = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}), max_length=MAX_BODY)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Category.objects.filter(active=True, parent__isnull=True)


def submit_form(data: dict[str, Any]) -> int:
    """Create the form's inquiry and queue its acknowledgement mail in one transaction; its number."""
    from .channels_email import match_requester

    config = SupportSettings.load()
    with transaction.atomic():
        inquiry = desk.open_inquiry(
            channel="form",
            subject=data["subject"],
            body=data["message"],
            requester_name=data["name"],
            requester_email=data["email"],
            team=config.default_team,
            **match_requester(data["email"]),
        )
        if data.get("category") is not None:
            inquiry.category = data["category"]
            inquiry.save(update_fields=["category"])
        delivery.acknowledge_form(inquiry.pk)
    return inquiry.number


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def inquiry_form(request: HttpRequest) -> HttpResponse:
    """Public web form (embeddable in an iframe): validation errors name the field; a receipt with the number."""
    form = InquiryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            number = submit_form(form.cleaned_data)
        except desk.DeskError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return render(request, "support/widget_form_done.html", {"number": number})
    return render(request, "support/widget_form.html", {"form": form}, status=422 if form.errors else 200)


def outcome_counts() -> dict[str, int]:
    return {o.value: ChatSession.objects.filter(outcome=o.value).count() for o in ChatOutcome}
