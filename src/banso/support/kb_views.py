"""Staff pages of the knowledge base: the article list, the editor (preview, versions, diff, publish, revert),
the search logs (top queries, queries that found nothing, queries nobody clicked) and the synonyms editor.
Reading needs VIEW_ACCOUNTS; every change needs EDIT_KNOWLEDGE."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import kb
from .desk import DeskError
from .models import Article, ArticleStatus, Category, InquiryType, SearchLog, Synonym

TOKYO = ZoneInfo("Asia/Tokyo")


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _choices() -> dict[str, Any]:
    return {
        "categories": Category.objects.filter(active=True).order_by("path"),
        "types": InquiryType.objects.filter(active=True),
        "statuses": ArticleStatus.choices,
    }


@requires(Capability.VIEW_ACCOUNTS)
def articles(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    category = request.GET.get("category", "")
    q = request.GET.get("q", "").strip()
    rows = kb.articles(
        status if status in ArticleStatus.values else "", int(category) if category.isdigit() else None, q
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    for article in page:
        article.helpful_pct = kb.helpful_percent(article)  # type: ignore[attr-defined]
    context = {
        "page": page,
        "status": status,
        "category": category,
        "q": q,
        "can_edit": has_capability(request.user, Capability.EDIT_KNOWLEDGE),
        **_choices(),
    }
    return render(request, "support/kb_articles.html", context)


def _input(request: HttpRequest) -> kb.ArticleInput:
    category = request.POST.get("category", "")
    return kb.ArticleInput(
        title=request.POST.get("title", ""),
        body=request.POST.get("body", ""),
        keywords=request.POST.get("keywords", ""),
        slug=request.POST.get("slug", ""),
        category_id=int(category) if category.isdigit() else None,
        inquiry_type_ids=[int(t) for t in request.POST.getlist("inquiry_types") if t.isdigit()],
        note=request.POST.get("note", ""),
    )


@requires(Capability.EDIT_KNOWLEDGE)
def article_new(request: HttpRequest) -> HttpResponseBase:
    error = None
    data = kb.ArticleInput(title=request.GET.get("title", ""), body="")
    if request.method == "POST":
        data = _input(request)
        try:
            article = kb.save_article(None, data, _actor(request))
        except DeskError as refused:
            error = refused
        else:
            messages.success(request, _("Article saved as a draft."))
            return redirect("support:kb_article", pk=article.pk)
    context = {"data": data, "error": error, "article": None, "can_edit": True, **_choices()}
    return render(request, "support/kb_article.html", context, status=422 if error else 200)


@requires(Capability.VIEW_ACCOUNTS)
def article(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Article.objects.select_related("category"), pk=pk)
    versions = list(item.versions.select_related("author").order_by("-number"))
    latest = versions[0] if versions else None
    data = kb.ArticleInput(
        title=latest.title if latest else item.title,
        body=latest.body if latest else item.body,
        keywords=latest.keywords if latest else item.keywords,
        slug=item.slug,
        category_id=item.category_id,
        inquiry_type_ids=list(item.inquiry_types.values_list("id", flat=True)),
    )
    by_number = {v.number: v for v in versions}
    old_n, new_n = request.GET.get("from", ""), request.GET.get("to", "")
    diff = None
    if old_n.isdigit() and new_n.isdigit() and int(old_n) in by_number and int(new_n) in by_number:
        diff = kb.diff_versions(by_number[int(old_n)], by_number[int(new_n)])
    elif len(versions) >= 2 and "from" not in request.GET:
        diff = kb.diff_versions(versions[1], versions[0])
        old_n, new_n = str(versions[1].number), str(versions[0].number)
    context = {
        "article": item,
        "data": data,
        "versions": versions,
        "diff": diff,
        "diff_from": old_n,
        "diff_to": new_n,
        "helpful_pct": kb.helpful_percent(item),
        "feedback": item.feedback.order_by("-created_at")[:20],
        "can_edit": has_capability(request.user, Capability.EDIT_KNOWLEDGE),
        "error": None,
        **_choices(),
    }
    return render(request, "support/kb_article.html", context)


@requires(Capability.EDIT_KNOWLEDGE)
@require_POST
def article_save(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = get_object_or_404(Article, pk=pk)
    try:
        kb.save_article(item, _input(request), _actor(request))
    except DeskError as refused:
        messages.error(request, f"{refused.field}: {refused.message}")
    else:
        messages.success(request, _("New version saved."))
    return redirect("support:kb_article", pk=pk)


@requires(Capability.EDIT_KNOWLEDGE)
@require_POST
def article_publish(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = get_object_or_404(Article, pk=pk)
    number = request.POST.get("version", "")
    version = item.versions.filter(number=int(number)).first() if number.isdigit() else None
    try:
        kb.publish(item, _actor(request), version)
    except DeskError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Published."))
    return redirect("support:kb_article", pk=pk)


@requires(Capability.EDIT_KNOWLEDGE)
@require_POST
def article_status(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = get_object_or_404(Article, pk=pk)
    try:
        kb.set_status(item, request.POST.get("status", ""), _actor(request))
    except DeskError as refused:
        messages.error(request, refused.message)
    return redirect("support:kb_article", pk=pk)


@requires(Capability.EDIT_KNOWLEDGE)
@require_POST
def article_revert(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = get_object_or_404(Article, pk=pk)
    number = request.POST.get("version", "")
    try:
        version = kb.revert(item, int(number) if number.isdigit() else 0, _actor(request))
    except DeskError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Version %(number)s created from the old text.") % {"number": version.number})
    return redirect("support:kb_article", pk=pk)


@requires(Capability.EDIT_KNOWLEDGE)
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The article as the help centre will show it (htmx partial)."""
    body = request.POST.get("body", "")
    context = {"title": request.POST.get("title", ""), "paragraphs": [p for p in body.split("\n") if p.strip()]}
    return render(request, "support/kb_preview.html", context)


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate(timezone=TOKYO)
    try:
        end = dt.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    try:
        start = dt.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = end - dt.timedelta(days=29)
    return min(start, end), max(start, end)


@requires(Capability.VIEW_ACCOUNTS)
def search_logs(request: HttpRequest) -> HttpResponse:
    start, end = _period(request)
    report = kb.search_log_report(
        dt.datetime.combine(start, dt.time(), TOKYO), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), TOKYO)
    )
    recent = SearchLog.objects.select_related("top_article", "clicked_article")[:30]
    context = {
        "report": report,
        "start": start,
        "end": end,
        "recent": recent,
        "can_edit": has_capability(request.user, Capability.EDIT_KNOWLEDGE),
    }
    return render(request, "support/kb_search_logs.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def synonyms(request: HttpRequest) -> HttpResponse:
    text = "\n".join(Synonym.objects.order_by("id").values_list("terms", flat=True))
    context = {"text": text, "can_edit": has_capability(request.user, Capability.EDIT_KNOWLEDGE), "error": None}
    return render(request, "support/kb_synonyms.html", context)


@requires(Capability.EDIT_KNOWLEDGE)
@require_POST
def synonyms_save(request: HttpRequest) -> HttpResponseBase:
    text = request.POST.get("synonyms", "")
    try:
        count = kb.save_synonyms(text.splitlines(), _actor(request))
    except DeskError as refused:
        context = {"text": text, "can_edit": True, "error": refused}
        return render(request, "support/kb_synonyms.html", context, status=422)
    messages.success(request, _("%(count)s synonym groups saved.") % {"count": count})
    return redirect("support:kb_synonyms")
