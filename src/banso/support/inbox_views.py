"""The inbox, one conversation, and macros. Thin: every change goes through desk.py / macros.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account, Contact, EndUser
from banso.core.models import Team, User
from banso.core.permissions import Capability, has_capability, requires
from banso.marketplace.models import Booking

from . import desk, macros, sla
from .inbox_forms import MacroForm, PhoneInquiryForm, ReplyForm, TeamRequestForm
from .models import (
    Category,
    Channel,
    Inquiry,
    InquiryType,
    Macro,
    Priority,
    Status,
    Tag,
    TeamRequest,
    TeamRequestStatus,
)


def _view_label(key: str) -> str:
    return {
        "mine": _("Mine"),
        "unassigned": _("Unassigned"),
        "team": _("My teams"),
        "open": _("All open"),
        "waiting": _("Waiting on other teams"),
        "about_to_breach": _("About to breach"),
        "breached": _("Breached"),
        "solved": _("Solved"),
        "all": _("All"),
    }[key]


def sla_badge(inquiry: Inquiry, now: dt.datetime, horizon: dt.datetime | None = None) -> dict[str, Any]:
    """The SLA area's badge; until it exists, one from the next due instant."""
    badge = getattr(sla, "badge", None)
    if badge is not None:
        return dict(badge(inquiry, now, horizon=horizon))
    due = inquiry.sla_next_due_at
    if due is None:
        return {"state": "none", "due_at": None, "label": ""}
    if inquiry.sla_paused_at is not None:
        return {"state": "paused", "due_at": due, "label": _("Paused")}
    if due < now:
        return {"state": "breached", "due_at": due, "label": _("Breached")}
    if due - now < dt.timedelta(hours=1):
        return {"state": "warning", "due_at": due, "label": _("Due soon")}
    return {"state": "ok", "due_at": due, "label": ""}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _query_without(params: QueryDict, *names: str) -> str:
    copy = params.copy()
    for name in names:
        copy.pop(name, None)
    return copy.urlencode()


# The inbox -------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    params = request.GET.copy()
    if "view" not in params:
        params["view"] = "mine" if has_capability(user, Capability.WORK_INQUIRIES) else "open"
    now = timezone.now()
    error = None
    try:
        rows, next_cursor = desk.inquiry_page(
            desk.filter_inquiries(user, params, now=now),
            sort=params.get("sort") or "updated",
            cursor=params.get("cursor") or "",
        )
    except desk.DeskError as refused:
        rows, next_cursor, error = [], "", refused
    horizon = sla.warning_horizon(now) if rows and hasattr(sla, "warning_horizon") else None
    entries = [{"inquiry": inquiry, "sla": sla_badge(inquiry, now, horizon)} for inquiry in rows]
    context: dict[str, Any] = {
        "entries": entries,
        "params": params,
        "view": params["view"],
        "views": [(key, _view_label(key)) for key in desk.INBOX_VIEWS],
        "next_cursor": next_cursor,
        "next_query": _query_without(params, "cursor"),
        "view_query": _query_without(params, "view", "cursor"),
        "first_query": _query_without(params, "cursor"),
        "error": error,
        "can_work": has_capability(user, Capability.WORK_INQUIRIES),
    }
    if request.headers.get("HX-Request") and request.GET.get("fragment") == "list":
        return render(request, "support/inbox_list.html", context)
    options = {
        **filter_options(),
        "priority": [(str(v), str(label)) for v, label in Priority.choices],
        "channel": [(str(v), str(label)) for v, label in Channel.choices],
    }
    # The dropdowns as ready <option> lists: a few hundred options rendered through the template language
    # cost more than the page's query.
    context["options"] = {
        name: _option_tags(options[key], params.get(name, ""))
        for name, key in (
            ("status", "statuses"),
            ("priority", "priority"),
            ("channel", "channel"),
            ("team", "teams"),
            ("assignee", "agents"),
            ("tag", "tags"),
            ("type", "types"),
            ("category", "categories"),
        )
    }
    context["bulk_agents"] = _option_tags(options["agents"], "")
    context["bulk_statuses"] = _option_tags(options["statuses"], "")
    return render(request, "support/inbox.html", context)


def _option_tags(pairs: list[tuple[str, str]], selected: str) -> SafeString:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, mark_safe(" selected") if value == selected else "", label) for value, label in pairs),
    )


OPTIONS_KEY = "support:inbox:filter-options"
OPTIONS_SECONDS = 60


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """The filter and bulk-action choices as (value, label) pairs, kept a minute in the cache: six small
    queries a page saved (a new tag or agent shows up in the dropdowns within the minute)."""

    def build() -> dict[str, list[tuple[str, str]]]:
        return {
            "statuses": [(s.key, s.name) for s in Status.objects.filter(active=True)],
            "teams": [(str(t.pk), t.name) for t in Team.objects.all()],
            "agents": [(str(a.pk), str(a)) for a in desk.agents()],
            "types": [(str(t.pk), t.name) for t in InquiryType.objects.filter(active=True)],
            "categories": [
                (str(c.pk), str(c)) for c in Category.objects.filter(active=True).only("pk", "path", "name")
            ],
            "tags": [(t.name, t.name) for t in Tag.objects.all()[:500]],
        }

    options = cache.get_or_set(OPTIONS_KEY, build, OPTIONS_SECONDS)
    return options if options is not None else build()


@requires(Capability.WORK_INQUIRIES)
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponseBase:
    """Assign or set the status of the selected inquiries (all or none)."""
    user = _user(request)
    back = request.POST.get("next") or reverse("support:inbox")
    if not back.startswith("/"):
        back = reverse("support:inbox")
    numbers = [int(n) for n in request.POST.getlist("numbers") if n.isdigit()]
    if not numbers:
        messages.error(request, _("Select at least one inquiry."))
        return redirect(back)
    action = request.POST.get("action", "")
    try:
        with transaction.atomic():
            inquiries = list(Inquiry.objects.filter(number__in=numbers).select_related("status"))
            if action == "assign":
                value = request.POST.get("assignee", "")
                assignee = None if value in ("", "none") else desk.agents().filter(pk=value).first()
                if value not in ("", "none") and assignee is None:
                    raise desk.DeskError("assignee", _("Choose someone who works inquiries."))
                for inquiry in inquiries:
                    desk.assign(inquiry, assignee=assignee, actor=user)
            elif action == "status":
                new = Status.objects.filter(key=request.POST.get("status", ""), active=True).first()
                if new is None:
                    raise desk.DeskError("status", _("Choose a status."))
                for inquiry in inquiries:
                    desk.set_status(inquiry, new, actor=user)
            else:
                raise desk.DeskError("action", _("Choose what to do with the selected inquiries."))
    except desk.DeskError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(count)s inquiries updated.") % {"count": len(inquiries)})
    return redirect(back)


@requires(Capability.WORK_INQUIRIES)
def inquiry_new(request: HttpRequest) -> HttpResponseBase:
    """Log an inquiry taken on the phone."""
    form = PhoneInquiryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            inquiry = desk.log_phone_inquiry(_user(request), **form.cleaned_data)
        except desk.DeskError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("support:inquiry", number=inquiry.number)
    return render(request, "support/inquiry_new.html", {"form": form})


# One conversation ----------------------------------------------------------------------------------------------


def _inquiry(number: int) -> Inquiry:
    return get_object_or_404(
        Inquiry.objects.select_related(
            "status", "team", "assignee", "account", "contact", "end_user", "booking", "merged_into", "inquiry_type"
        ),
        number=number,
    )


def _thread_context(inquiry: Inquiry) -> dict[str, Any]:
    return {"inquiry": inquiry, "thread": inquiry.messages.select_related("author").order_by("created_at", "id")}


@requires(Capability.VIEW_ACCOUNTS)
def inquiry(request: HttpRequest, number: int) -> HttpResponse:
    item = _inquiry(number)
    user = _user(request)
    now = timezone.now()
    context = {
        **_thread_context(item),
        "sla_badge": sla_badge(item, now),
        "sla": sla.panel(item, now) if hasattr(sla, "panel") else [],
        "reply_form": ReplyForm(),
        "request_form": TeamRequestForm(),
        "statuses": Status.objects.filter(active=True),
        "priorities": Priority.choices,
        "teams": Team.objects.all(),
        "agents": desk.agents(),
        "macros": macros.visible_to(user),
        "tags": list(item.tags.values_list("name", flat=True)),
        "requests": item.team_requests.select_related("to_team", "requested_by", "answered_by"),
        "merged": item.merged.only("number", "subject"),
        "can_work": has_capability(user, Capability.WORK_INQUIRIES),
        "earlier": Inquiry.objects.filter(requester_email=item.requester_email)
        .exclude(pk=item.pk)
        .order_by("-created_at")[:5]
        if item.requester_email
        else [],
    }
    return render(request, "support/inquiry.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def inquiry_thread(request: HttpRequest, number: int) -> HttpResponse:
    """The thread alone (live refresh)."""
    return render(request, "support/inquiry_thread.html", _thread_context(_inquiry(number)))


def _back(number: int) -> HttpResponseBase:
    return redirect("support:inquiry", number=number)


def _refused(request: HttpRequest, error: desk.DeskError) -> None:
    messages.error(request, f"{error.field}: {error.message}")


@requires(Capability.WORK_INQUIRIES)
@require_POST
def inquiry_reply(request: HttpRequest, number: int) -> HttpResponseBase:
    item = _inquiry(number)
    user = _user(request)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
        return _back(number)
    data = form.cleaned_data
    macro = macros.visible_to(user).filter(pk=data["macro"]).first() if data.get("macro") else None
    try:
        with transaction.atomic():
            desk.reply(item, user, data["body"], internal=data["internal"], new_status=data["status"])
            if macro is not None:
                macros.used(macro, item, user, status_chosen=data["status"] is not None)
    except desk.DeskError as error:
        _refused(request, error)
    return _back(number)


@requires(Capability.WORK_INQUIRIES)
@require_POST
def inquiry_update(request: HttpRequest, number: int) -> HttpResponseBase:
    """The side panel: status, priority, team, assignee, tags and links (each only when sent)."""
    item = _inquiry(number)
    user = _user(request)
    post = request.POST
    try:
        with transaction.atomic():
            if "status" in post and post["status"] != item.status.key:
                new = Status.objects.filter(key=post["status"]).first()
                if new is None:
                    raise desk.DeskError("status", _("Unknown status: %(value)s") % {"value": post["status"]})
                desk.set_status(item, new, actor=user)
            if "priority" in post:
                desk.set_priority(item, post["priority"], actor=user)
            if "team" in post or "assignee" in post:
                kwargs: dict[str, Any] = {}
                if "team" in post:
                    kwargs["team"] = get_object_or_404(Team, pk=post["team"]) if post["team"] else None
                if "assignee" in post and str(post["assignee"]) != str(item.assignee_id or ""):
                    kwargs["assignee"] = get_object_or_404(User, pk=post["assignee"]) if post["assignee"] else None
                desk.assign(item, actor=user, **kwargs)
            if "add_tags" in post or "remove_tag" in post:
                desk.change_tags(item, add=post.get("add_tags", ""), remove=post.getlist("remove_tag"), actor=user)
            links: dict[str, Any] = {}
            for name, model in (
                ("account", Account),
                ("contact", Contact),
                ("end_user", EndUser),
                ("booking", Booking),
            ):
                if name in post:
                    value = post[name].strip()
                    if not value:
                        links[name] = None
                    else:
                        found = model.objects.filter(pk=value).first() if value.isdigit() else None
                        if found is None:
                            raise desk.DeskError(name, _("No such record: %(value)s") % {"value": value})
                        links[name] = found
            if links:
                desk.link(item, actor=user, **links)
    except desk.DeskError as error:
        _refused(request, error)
    return _back(number)


@requires(Capability.WORK_INQUIRIES)
@require_POST
def inquiry_merge(request: HttpRequest, number: int) -> HttpResponseBase:
    """Merge this inquiry into the one numbered `into`."""
    item = _inquiry(number)
    value = request.POST.get("into", "").strip().lstrip("#＃")
    target = Inquiry.objects.filter(number=int(value)).first() if value.isdigit() else None
    if target is None:
        messages.error(request, _("No inquiry numbered %(value)s.") % {"value": value})
        return _back(number)
    try:
        desk.merge(item, target, actor=_user(request))
    except desk.DeskError as error:
        _refused(request, error)
        return _back(number)
    messages.success(request, _("Merged into #%(number)s.") % {"number": target.number})
    return _back(target.number)


@requires(Capability.WORK_INQUIRIES)
@require_POST
def inquiry_request(request: HttpRequest, number: int) -> HttpResponseBase:
    item = _inquiry(number)
    form = TeamRequestForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
        return _back(number)
    try:
        desk.request_team(item, actor=_user(request), **form.cleaned_data)
    except desk.DeskError as error:
        _refused(request, error)
    return _back(number)


@requires(Capability.WORK_INQUIRIES)
@require_POST
def request_answer(request: HttpRequest, pk: int) -> HttpResponseBase:
    team_request = get_object_or_404(TeamRequest.objects.select_related("inquiry"), pk=pk)
    try:
        if request.POST.get("cancel"):
            desk.cancel_request(team_request, actor=_user(request))
        else:
            desk.answer_request(team_request, request.POST.get("answer", ""), actor=_user(request))
    except desk.DeskError as error:
        _refused(request, error)
    return _back(team_request.inquiry.number)


@requires(Capability.VIEW_ACCOUNTS)
def team_requests(request: HttpRequest) -> HttpResponse:
    """Requests to other teams still waiting for an answer, the earliest due first."""
    team_id = request.GET.get("team", "")
    team = Team.objects.filter(pk=team_id).first() if team_id.isdigit() else None
    return render(
        request,
        "support/inbox_requests.html",
        {
            "requests": desk.open_requests(team)[:200],
            "teams": Team.objects.all(),
            "team": team,
            "now": timezone.now(),
            "open_status": TeamRequestStatus.OPEN,
        },
    )


@requires(Capability.WORK_INQUIRIES)
def inquiry_macro(request: HttpRequest, number: int, pk: int) -> HttpResponse:
    """The reply box with the macro's text rendered for this inquiry added to what was already typed."""
    item = _inquiry(number)
    user = _user(request)
    macro = get_object_or_404(macros.visible_to(user), pk=pk)
    typed = request.GET.get("body", "").rstrip()
    text = macros.render(macro, item, user)
    return render(
        request,
        "support/inquiry_reply_box.html",
        {"body": f"{typed}\n\n{text}" if typed else text, "macro": macro},
    )


# Macros ------------------------------------------------------------------------------------------------------


@requires(Capability.WORK_INQUIRIES)
def macro_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = Macro.objects.filter(Q(personal=False) | Q(personal=True, created_by=user)).select_related("set_status")
    return render(
        request,
        "support/macro_list.html",
        {
            "macros": rows,
            "can_manage": has_capability(user, Capability.MANAGE_SUPPORT),
            "fields": macros.field_names(),
        },
    )


@requires(Capability.WORK_INQUIRIES)
def macro_edit(request: HttpRequest, pk: int | None = None) -> HttpResponseBase:
    user = _user(request)
    macro = get_object_or_404(Macro, pk=pk) if pk else None
    if macro is not None and macro.personal and macro.created_by_id != user.pk:
        return HttpResponse(status=404)
    initial: dict[str, Any] = {"personal": not has_capability(user, Capability.MANAGE_SUPPORT), "active": True}
    if macro is not None:
        initial = {
            "name": macro.name,
            "body": macro.body,
            "personal": macro.personal,
            "set_status": macro.set_status,
            "add_tags": ", ".join(macro.add_tags.values_list("name", flat=True)),
            "active": macro.active,
        }
    form = MacroForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = macros.save_macro(user, macro=macro, **form.cleaned_data)
        except desk.DeskError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Macro %(name)s saved.") % {"name": saved.name})
            return redirect("support:macros")
    return render(
        request,
        "support/macro_form.html",
        {
            "form": form,
            "macro": macro,
            "fields": macros.field_names(),
            "editable": macros.can_edit(user, macro, personal=bool(initial.get("personal"))),
        },
        status=422 if request.method == "POST" else 200,
    )
