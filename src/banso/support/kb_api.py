"""The knowledge base in the JSON API (mounted under /api/support/kb): articles (list, read, create, new
version, publish, unpublish/archive), search (staff; the public help centre uses its page), feedback and search
logs. Refusals are 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import kb
from .desk import DeskError
from .models import Article, ArticleStatus, Category, SearchSource
from .search import search_logged

router = Router(tags=["support"])
VIEW = role(Capability.VIEW_ACCOUNTS)
EDIT = role(Capability.EDIT_KNOWLEDGE)
MAX_LIMIT = 500


class ArticleIn(Schema):
    title: str
    body: str
    keywords: str = Field("", description="other words customers use, one per line")
    slug: str = Field("", description="letters (Japanese too), digits, hyphens; default: from the title")
    category_id: int | None = None
    inquiry_type_ids: list[int] = Field(default_factory=list)
    note: str = Field("", description="change note of this version")


class ArticleOut(Schema):
    id: int
    slug: str
    status: str
    title: str
    body: str
    keywords: str
    category_id: int | None
    inquiry_type_ids: list[int]
    published_at: dt.datetime | None
    updated_at: dt.datetime
    version: int | None
    helpful_count: int
    not_helpful_count: int
    views: int


class PublishIn(Schema):
    version: int | None = Field(None, description="the version to put live (default: the latest)")


class StatusIn(Schema):
    status: str = Field(description="draft (unpublish) or archived")


class HitOut(Schema):
    article_id: int
    title: str
    snippet: str
    url: str
    score: float


class SearchOut(Schema):
    log_id: int | None
    hits: list[HitOut]


class FeedbackIn(Schema):
    helpful: bool
    comment: str = ""


class LogRowOut(Schema):
    query: str
    searches: int
    clicks: int


class LogReportOut(Schema):
    searches: int
    zero_results: int
    clicked: int
    top: list[LogRowOut]
    zero: list[LogRowOut]
    no_click: list[LogRowOut]


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _out(article: Article) -> dict[str, Any]:
    latest = kb.latest_version(article)
    return {
        "id": article.pk,
        "slug": article.slug,
        "status": article.status,
        "title": article.title,
        "body": article.body,
        "keywords": article.keywords,
        "category_id": article.category_id,
        "inquiry_type_ids": list(article.inquiry_types.values_list("id", flat=True)),
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "version": latest.number if latest else None,
        "helpful_count": article.helpful_count,
        "not_helpful_count": article.not_helpful_count,
        "views": article.views,
    }


def _input(payload: ArticleIn) -> kb.ArticleInput:
    return kb.ArticleInput(**payload.dict())


@router.get("/articles", response=list[ArticleOut], auth=VIEW)
def list_articles(
    request: HttpRequest, status: str = "", category: int | None = None, q: str = "", limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    rows = (
        kb.articles(status, category, q)
        .defer(None)
        .defer("search_embedding")[max(offset, 0) : max(offset, 0) + max(1, min(limit, MAX_LIMIT))]
    )
    return [_out(a) for a in rows.prefetch_related("inquiry_types")]


@router.get("/articles/{int:article_id}", response=ArticleOut, auth=VIEW)
def get_article(request: HttpRequest, article_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(Article, pk=article_id))


@router.post("/articles", response={201: ArticleOut, 422: ErrorOut}, auth=EDIT)
def create_article(request: HttpRequest, payload: ArticleIn) -> Status[Any]:
    try:
        article = kb.save_article(None, _input(payload), _actor(request), via="api")
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(201, _out(article))


@router.put("/articles/{int:article_id}", response={200: ArticleOut, 422: ErrorOut}, auth=EDIT)
def update_article(request: HttpRequest, article_id: int, payload: ArticleIn) -> Status[Any]:
    """Save a new version (a published article keeps its live text until the version is published)."""
    article = get_object_or_404(Article, pk=article_id)
    try:
        article = kb.save_article(article, _input(payload), _actor(request), via="api")
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(article))


@router.post("/articles/{int:article_id}/publish", response={200: ArticleOut, 422: ErrorOut}, auth=EDIT)
def publish_article(request: HttpRequest, article_id: int, payload: PublishIn) -> Status[Any]:
    article = get_object_or_404(Article, pk=article_id)
    version = None
    if payload.version is not None:
        version = article.versions.filter(number=payload.version).first()
        if version is None:
            return refused([("version", "No such version of this article.")])
    try:
        article = kb.publish(article, _actor(request), version, via="api")
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(article))


@router.post("/articles/{int:article_id}/status", response={200: ArticleOut, 422: ErrorOut}, auth=EDIT)
def set_article_status(request: HttpRequest, article_id: int, payload: StatusIn) -> Status[Any]:
    article = get_object_or_404(Article, pk=article_id)
    try:
        article = kb.set_status(article, payload.status, _actor(request), via="api")
    except DeskError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(article))


@router.get("/search", response={200: SearchOut, 422: ErrorOut}, auth=VIEW)
def search_articles(request: HttpRequest, q: str, limit: int = 5, category: int | None = None) -> Status[Any]:
    """Published articles answering `q` in the shipped mode (logged as an agent search)."""
    if not q.strip():
        return refused([("q", "The query is empty.")])
    within = get_object_or_404(Category, pk=category) if category else None
    hits, log = search_logged(q, limit=max(1, min(limit, 50)), source=SearchSource.AGENT, category=within)
    return Status(200, {"log_id": log.pk if log else None, "hits": [h.__dict__ for h in hits]})


@router.post("/articles/{int:article_id}/feedback", response={201: None}, auth=VIEW)
def feedback(request: HttpRequest, article_id: int, payload: FeedbackIn) -> Status[None]:
    article = get_object_or_404(Article, pk=article_id, status=ArticleStatus.PUBLISHED)
    kb.record_feedback(article, payload.helpful, payload.comment)
    return Status(201, None)


@router.get("/search-logs", response=LogReportOut, auth=VIEW)
def search_logs(request: HttpRequest, date_from: dt.date | None = None, date_to: dt.date | None = None) -> Any:
    """Top queries, queries that found nothing and queries nobody opened a result of (days in Japan)."""
    end = date_to or timezone.localdate()
    start = date_from or end - dt.timedelta(days=29)
    tz = timezone.get_current_timezone()
    return kb.search_log_report(
        dt.datetime.combine(start, dt.time(), tz), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)
    )
