"""The knowledge base: FAQ articles and their versions (every save is a new version; publishing a version puts
its text live), feedback and views, synonyms, bulk import, and what the search logs say customers looked for."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from . import search
from .desk import DeskError
from .models import (
    Article,
    ArticleFeedback,
    ArticleStatus,
    ArticleVersion,
    Category,
    ChatSession,
    InquiryType,
    SearchLog,
    Synonym,
)

AUDITED = ["slug", "status", "title", "category", "published_at"]
SLUG_RE = re.compile(r"^[-\w]+\Z")


@dataclass
class ArticleInput:
    title: str
    body: str
    keywords: str = ""
    slug: str = ""
    category_id: int | None = None
    inquiry_type_ids: Sequence[int] = ()
    note: str = ""


def latest_version(article: Article) -> ArticleVersion | None:
    return article.versions.order_by("-number").first()


def _validate(article: Article | None, data: ArticleInput) -> str:
    title, body = data.title.strip(), data.body.strip()
    if not title:
        raise DeskError("title", _("The title is empty."))
    if len(title) > 300:
        raise DeskError("title", _("The title is longer than 300 characters."))
    if not body:
        raise DeskError("body", _("The body is empty."))
    slug = (data.slug or "").strip() or (article.slug if article else "") or slugify(title, allow_unicode=True)[:100]
    if not slug or not SLUG_RE.match(slug) or len(slug) > 100:
        raise DeskError("slug", _("The slug may contain letters (Japanese too), digits, hyphens and underscores."))
    others = Article.objects.filter(slug=slug)
    if article is not None:
        others = others.exclude(pk=article.pk)
    if others.exists():
        raise DeskError("slug", _("Another article already has the slug %(slug)s.") % {"slug": slug})
    if data.category_id is not None and not Category.objects.filter(pk=data.category_id).exists():
        raise DeskError("category", _("No such category."))
    types = set(data.inquiry_type_ids)
    if types and InquiryType.objects.filter(pk__in=types).count() != len(types):
        raise DeskError("inquiry_types", _("No such inquiry type."))
    return slug


@transaction.atomic
def save_article(article: Article | None, data: ArticleInput, actor: User | None, via: str = "ui") -> Article:
    """Create an article (as a draft) or save a new version of one. A published article keeps showing its
    published text until the new version is published."""
    slug = _validate(article, data)
    title, body, keywords = data.title.strip(), data.body.strip(), data.keywords.strip()
    now = timezone.now()
    creating = article is None
    if article is None:
        article = Article(status=ArticleStatus.DRAFT)
    before = None if creating else snapshot(article, AUDITED)
    article.slug = slug
    article.category_id = data.category_id
    if article.status != ArticleStatus.PUBLISHED:
        article.title, article.body, article.keywords = title, body, keywords
    article.updated_at = now
    article.save()
    article.inquiry_types.set(list(data.inquiry_type_ids))
    last = latest_version(article)
    ArticleVersion.objects.create(
        article=article,
        number=(last.number if last else 0) + 1,
        title=title,
        body=body,
        keywords=keywords,
        author=actor,
        created_at=now,
        note=data.note.strip()[:300],
    )
    record_change(
        actor=actor,
        obj=article,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        before=before,
        after=snapshot(article, AUDITED),
        account_id=None,
        via=via,
    )
    return article


@transaction.atomic
def publish(
    article: Article,
    actor: User | None,
    version: ArticleVersion | None = None,
    via: str = "ui",
    embedding: bytes | None = None,
) -> Article:
    """Put `version` (default: the latest) live: the help centre, search and the chatbot show its text. Its
    embedding is computed here so searches never wait for it (`embedding`: already computed by a caller that
    embeds many articles in one batch)."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    version = version or latest_version(article)
    if version is None or version.article_id != article.pk:
        raise DeskError("version", _("No such version of this article."))
    before = snapshot(article, AUDITED)
    now = timezone.now()
    article.title, article.body, article.keywords = version.title, version.body, version.keywords
    article.status = ArticleStatus.PUBLISHED
    article.published_at = now
    article.updated_at = now
    article.search_embedding = embedding or search.embedding_bytes(article)
    article.save()
    ArticleVersion.objects.filter(pk=version.pk).update(published_at=now)
    after = snapshot(article, AUDITED) | {"version": version.number}
    record_change(
        actor=actor, obj=article, action=AuditAction.UPDATE, before=before, after=after, account_id=None, via=via
    )
    _index_changed()
    return article


@transaction.atomic
def set_status(article: Article, status: str, actor: User | None, via: str = "ui") -> Article:
    """Unpublish (back to draft) or archive; publishing goes through publish()."""
    if status not in (ArticleStatus.DRAFT, ArticleStatus.ARCHIVED):
        raise DeskError("status", _("Use publish to publish an article."))
    before = snapshot(article, AUDITED)
    article.status = status
    article.updated_at = timezone.now()
    article.save(update_fields=["status", "updated_at"])
    record_change(
        actor=actor,
        obj=article,
        action=AuditAction.UPDATE,
        before=before,
        after=snapshot(article, AUDITED),
        account_id=None,
        via=via,
    )
    _index_changed()
    return article


def revert(article: Article, number: int, actor: User | None, via: str = "ui") -> ArticleVersion:
    """A new version copying version `number` (history is never rewritten)."""
    old = article.versions.filter(number=number).first()
    if old is None:
        raise DeskError("version", _("No such version of this article."))
    data = ArticleInput(
        title=old.title,
        body=old.body,
        keywords=old.keywords,
        slug=article.slug,
        category_id=article.category_id,
        inquiry_type_ids=list(article.inquiry_types.values_list("id", flat=True)),
        note=_("Reverted to version %(number)s") % {"number": number},
    )
    save_article(article, data, actor, via=via)
    version = latest_version(article)
    assert version is not None
    return version


@dataclass
class DiffLine:
    kind: str  # "same", "added", "removed", "field"
    text: str


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?\n])", text) if s.strip()]


def diff_versions(old: ArticleVersion, new: ArticleVersion) -> list[DiffLine]:
    """Sentence-by-sentence differences of title, keywords and body (Japanese has no line breaks to diff on)."""
    lines: list[DiffLine] = []
    for label, a, b in (
        (_("Title"), [old.title], [new.title]),
        (_("Keywords"), old.keywords.splitlines(), new.keywords.splitlines()),
        (_("Body"), _sentences(old.body), _sentences(new.body)),
    ):
        lines.append(DiffLine("field", label))
        for row in difflib.ndiff(a, b):
            code, text = row[:2], row[2:].strip()
            if code == "? " or not text:
                continue
            lines.append(DiffLine({"+ ": "added", "- ": "removed"}.get(code, "same"), text))
    return lines


def record_view(article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(views=F("views") + 1)


def record_feedback(
    article: Article, helpful: bool, comment: str = "", session: ChatSession | None = None
) -> ArticleFeedback:
    """ "Was this helpful?": one answer, counted on the article."""
    with transaction.atomic():
        feedback = ArticleFeedback.objects.create(
            article=article, helpful=helpful, comment=comment.strip()[:2000], session=session
        )
        counter = "helpful_count" if helpful else "not_helpful_count"
        Article.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
    return feedback


def helpful_percent(article: Article) -> int | None:
    total = article.helpful_count + article.not_helpful_count
    return round(100 * article.helpful_count / total) if total else None


def articles(status: str = "", category_id: int | None = None, q: str = "") -> QuerySet[Article]:
    rows = Article.objects.select_related("category").defer("search_embedding", "body")
    if status:
        rows = rows.filter(status=status)
    if category_id:
        rows = rows.filter(category_id=category_id)
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(slug__icontains=q) | Q(keywords__icontains=q))
    return rows.order_by("-updated_at", "-id")


def _index_changed() -> None:
    """This process's search index is rebuilt now (it reads this transaction's rows) and again after commit."""
    search.invalidate()
    transaction.on_commit(search.invalidate)


# Synonyms --------------------------------------------------------------------------------------------------


@transaction.atomic
def save_synonyms(groups: Iterable[str], actor: User | None, via: str = "ui") -> int:
    """Replace every synonym group (one group per entry, terms separated by commas)."""
    cleaned = []
    for number, group in enumerate(groups, start=1):
        terms = [t.strip() for t in re.split(r"[,、，]", group) if t.strip()]
        if not terms:
            continue
        if len(terms) < 2:
            raise DeskError(f"synonyms.{number}", _("A synonym group needs at least two words."))
        cleaned.append(", ".join(dict.fromkeys(terms)))
    Synonym.objects.all().delete()
    Synonym.objects.bulk_create([Synonym(terms=t) for t in cleaned])
    _index_changed()
    return len(cleaned)


# Import ------------------------------------------------------------------------------------------------------


class KbImportError(Exception):
    """The file was refused; `errors` lists (row, field, message) and nothing was written."""

    def __init__(self, errors: list[tuple[int, str, str]]) -> None:
        super().__init__("; ".join(f"{row}: {field_}: {message}" for row, field_, message in errors[:20]))
        self.errors = errors


@dataclass
class KbImportResult:
    created: int = 0
    updated: int = 0
    published: int = 0
    synonyms: int = 0
    slugs: list[str] = field(default_factory=list)


def read_import(data: bytes, filename: str) -> dict[str, Any]:
    """A JSON file ({"categories": [...], "articles": [...], "synonyms": [...]} or a bare list of articles) or a
    CSV (header: slug,title,body,keywords,category[,status]; keywords separated by |)."""
    from .categories import CategoryImportError, decode

    try:
        text = decode(data)
    except CategoryImportError as error:
        raise KbImportError([(0, "file", str(error))]) from None
    if filename.lower().endswith(".json"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise KbImportError(
                [(error.lineno, "file", _("Not valid JSON: %(error)s") % {"error": error.msg})]
            ) from None
        return {"articles": parsed} if isinstance(parsed, list) else dict(parsed)
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["keywords"] = "\n".join(k.strip() for k in (row.get("keywords") or "").split("|") if k.strip())
    return {"articles": rows}


@transaction.atomic
def import_articles(payload: dict[str, Any], actor: User | None, *, publish_all: bool = True) -> KbImportResult:
    """Create or update articles by slug (and the categories and synonyms the file brings); every row is
    checked first and any error refuses the whole file."""
    from .categories import save_category

    errors: list[tuple[int, str, str]] = []
    result = KbImportResult()
    categories = {c.code: c for c in Category.objects.all()}
    for number, row in enumerate(payload.get("categories") or [], start=1):
        code, name = str(row.get("code", "")).strip(), str(row.get("name", "")).strip()
        if code and code not in categories and name:
            categories[code] = save_category(None, code=code, name=name, parent=None, actor=actor)
        elif not code or (code not in categories and not name):
            errors.append((number, "categories", _("A category needs a code and a name.")))
    articles_in = payload.get("articles") or []
    if not isinstance(articles_in, list) or not articles_in:
        errors.append((0, "articles", _("The file has no articles.")))
        articles_in = []
    seen: set[str] = set()
    # The e5 model embeds a batch far faster than one article at a time (83 FAQ articles: one call, not 83).
    vectors: dict[int, bytes] = {}
    if publish_all:
        rows = [
            (number, row)
            for number, row in enumerate(articles_in, start=1)
            if isinstance(row, dict) and str(row.get("status") or "published") == ArticleStatus.PUBLISHED
        ]
        texts = [
            search.passage_text(
                Article(
                    title=str(r.get("title") or ""),
                    body=str(r.get("body") or ""),
                    keywords=str(r.get("keywords") or ""),
                )
            )
            for _, r in rows
        ]
        for (number, _row), vector in zip(rows, search.embed_passages(texts), strict=True):
            vectors[number] = vector.astype("float32").tobytes()
    for number, row in enumerate(articles_in, start=1):
        if not isinstance(row, dict):
            errors.append((number, "", _("Each article must be an object.")))
            continue
        slug = str(row.get("slug") or "").strip()
        if slug in seen and slug:
            errors.append((number, "slug", _("The slug %(slug)s appears twice in the file.") % {"slug": slug}))
            continue
        seen.add(slug)
        code = str(row.get("category") or "").strip()
        if code and code not in categories:
            errors.append((number, "category", _("No category with the code %(code)s.") % {"code": code}))
            continue
        article = Article.objects.filter(slug=slug).first() if slug else None
        data = ArticleInput(
            title=str(row.get("title") or ""),
            body=str(row.get("body") or ""),
            keywords=str(row.get("keywords") or ""),
            slug=slug,
            category_id=categories[code].pk if code else None,
            note=_("Imported"),
        )
        try:
            with transaction.atomic():
                saved = save_article(article, data, actor, via="import")
                if publish_all and str(row.get("status") or "published") == ArticleStatus.PUBLISHED:
                    publish(saved, actor, via="import", embedding=vectors.get(number))
                    result.published += 1
        except DeskError as error:
            errors.append((number, error.field, error.message))
            continue
        result.updated += article is not None
        result.created += article is None
        result.slugs.append(saved.slug)
    if payload.get("synonyms") and not errors:
        try:
            result.synonyms = save_synonyms(
                [*Synonym.objects.values_list("terms", flat=True), *payload["synonyms"]], actor
            )
        except DeskError as error:
            errors.append((0, error.field, error.message))
    if errors:
        transaction.set_rollback(True)
        raise KbImportError(errors)
    return result


# Search logs -------------------------------------------------------------------------------------------------


@dataclass
class LogReport:
    searches: int
    zero_results: int
    clicked: int
    top: list[dict[str, Any]]
    zero: list[dict[str, Any]]
    no_click: list[dict[str, Any]]


def search_log_report(start: dt.datetime, end: dt.datetime, limit: int = 50) -> LogReport:
    """What was searched between start and end: most frequent queries, queries that found nothing, and queries
    that found articles nobody opened — the list of articles to write next."""
    logs = SearchLog.objects.filter(created_at__gte=start, created_at__lt=end)
    totals = logs.aggregate(
        n=Count("id"),
        zero=Count("id", filter=Q(results=0)),
        clicked=Count("id", filter=Q(clicked_article__isnull=False)),
    )

    def grouped(rows: QuerySet[SearchLog]) -> list[dict[str, Any]]:
        return list(
            rows.values("normalised")
            .annotate(
                searches=Count("id"),
                clicks=Count("clicked_article"),
                query=Min("query"),
            )
            .order_by("-searches", "normalised")[:limit]
        )

    return LogReport(
        searches=totals["n"],
        zero_results=totals["zero"],
        clicked=totals["clicked"],
        top=grouped(logs),
        zero=grouped(logs.filter(results=0)),
        no_click=[r for r in grouped(logs.filter(results__gt=0)) if r["clicks"] == 0],
    )
