"""The public help centre (no sign-in): categories with their published articles, an article page with "was
this helpful?", and search with highlighted snippets. Searches are logged and the opened result recorded."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from . import kb
from .models import Article, ArticleStatus, Category, SearchSource
from .search import matching_spans, search_logged

CONTACT_FORM_URL = "/support/widget/form/"  # area C's web form


def highlight(text: str, terms: Sequence[str]) -> SafeString:
    """`text` escaped, with the words matching the query (same lemma or reading, synonyms included) in <mark>."""
    out, last = [], 0
    for start, end in matching_spans(text, terms):
        out += [escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>"]
        last = end
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped above


def _categories() -> list[tuple[Category | None, list[Article]]]:
    published = (
        Article.objects.filter(status=ArticleStatus.PUBLISHED)
        .select_related("category")
        .defer("body", "search_embedding")
        .order_by("category__path", "title")
    )
    groups: dict[int | None, tuple[Category | None, list[Article]]] = {}
    for article in published:
        groups.setdefault(article.category_id, (article.category, []))[1].append(article)
    return sorted(groups.values(), key=lambda g: (g[0] is None, g[0].path if g[0] else ""))


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "support/help_index.html", {"groups": _categories(), "contact_url": CONTACT_FORM_URL})


def search_page(request: HttpRequest) -> HttpResponseBase:
    query = request.GET.get("q", "").strip()[:200]
    if not query:
        return redirect("support:help")
    category = None
    if request.GET.get("category", "").isdigit():
        category = Category.objects.filter(pk=int(request.GET["category"])).first()
    hits, log = search_logged(query, limit=10, source=SearchSource.HELP_CENTRE, category=category)
    rows = [
        {
            "hit": hit,
            "title": highlight(hit.title, hit.matched),
            "snippet": highlight(hit.snippet, hit.matched),
            "url": f"{hit.url}?s={log.pk}" if log else hit.url,
        }
        for hit in hits
    ]
    context = {"query": query, "rows": rows, "category": category, "contact_url": CONTACT_FORM_URL}
    return render(request, "support/help_search.html", context)


def article_page(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(Article.objects.select_related("category"), slug=slug, status=ArticleStatus.PUBLISHED)
    kb.record_view(article)
    log_id = request.GET.get("s", "")
    if log_id.isdigit():
        from .search import record_click

        record_click(int(log_id), article)
    related = (
        Article.objects.filter(status=ArticleStatus.PUBLISHED, category_id=article.category_id)
        .exclude(pk=article.pk)
        .defer("body", "search_embedding")
        .order_by("-views")[:5]
        if article.category_id
        else []
    )
    context = {
        "article": article,
        "paragraphs": [p for p in article.body.split("\n") if p.strip()],
        "related": related,
        "thanks": request.GET.get("thanks") == "1",
        "contact_url": CONTACT_FORM_URL,
    }
    return render(request, "support/help_article.html", context)


@require_POST
def feedback(request: HttpRequest, slug: str) -> HttpResponseBase:
    article = get_object_or_404(Article, slug=slug, status=ArticleStatus.PUBLISHED)
    answer = request.POST.get("helpful", "")
    if answer not in ("yes", "no"):
        return HttpResponse(status=400)
    kb.record_feedback(article, answer == "yes", request.POST.get("comment", ""))
    return redirect(f"{article_url(article)}?thanks=1")


def article_url(article: Article) -> str:
    from django.urls import reverse

    return reverse("support:help_article", args=[article.slug])
