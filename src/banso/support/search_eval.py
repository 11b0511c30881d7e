"""Search quality on the Japanese FAQ set: recall@1, recall@5 and MRR of each search mode over queries written
as customers write them (paraphrases, colloquial, hiragana-only, variants, typos, synonyms)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from .search import Doc, Index, SearchMode, embed_passages, passage_text

DATA_DIR = Path(__file__).resolve().parent / "data"
FAQ_FILE = DATA_DIR / "faq_ja.json"
QUERIES_FILE = Path(__file__).resolve().parents[3] / "tests" / "support" / "data" / "search_queries_ja.json"


@dataclass
class Result:
    mode: str
    queries: int
    recall_at_1: float
    recall_at_5: float
    mrr: float


def load_faq(path: Path = FAQ_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def cached_embeddings(docs: list[Doc], name: str) -> None:
    """Fill the documents' embeddings, reusing the copy under the var directory when the texts are the same
    (the FAQ set and the benchmark's articles are embedded once per machine, not per run)."""
    texts = [passage_text(d) for d in docs]
    digest = hashlib.sha1("\x00".join(texts).encode(), usedforsecurity=False).hexdigest()[:16]
    path = Path(settings.VAR_DIR) / "support_kb" / f"{name}-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        vectors = np.vstack(embed_passages(texts)) if texts else np.zeros((0, 384), dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    for doc, vector in zip(docs, vectors, strict=True):
        doc.embedding = vector


def faq_index(faq: dict[str, Any] | None = None, *, semantic: bool = True) -> Index:
    faq = faq or load_faq()
    docs = [
        Doc(i, a["slug"], a["title"], a["body"], a.get("keywords", "")) for i, a in enumerate(faq["articles"], start=1)
    ]
    if semantic:
        cached_embeddings(docs, "faq")
    return Index(docs, faq.get("synonyms", []), semantic=semantic)


def evaluate(
    queries: list[dict[str, str]] | None = None, modes: tuple[str, ...] = SearchMode.ALL, index: Index | None = None
) -> list[Result]:
    if queries is None:
        queries = json.loads(QUERIES_FILE.read_text(encoding="utf-8"))
    index = index or faq_index(semantic=any(m != SearchMode.LEXICAL for m in modes))
    slug_of = [d.slug for d in index.docs]
    results = []
    for mode in modes:
        hit1 = hit5 = 0
        reciprocal = 0.0
        for row in queries:
            ranked = [slug_of[pos] for pos, _ in index.rank(row["query"], mode, 10)[0]]
            if ranked[:1] == [row["slug"]]:
                hit1 += 1
            if row["slug"] in ranked[:5]:
                hit5 += 1
            if row["slug"] in ranked:
                reciprocal += 1.0 / (ranked.index(row["slug"]) + 1)
        n = max(len(queries), 1)
        results.append(Result(mode, len(queries), hit1 / n, hit5 / n, reciprocal / n))
    return results


def table(results: list[Result]) -> str:
    lines = [f"{'mode':<10} {'queries':>7} {'recall@1':>9} {'recall@5':>9} {'MRR':>7}"]
    lines += [f"{r.mode:<10} {r.queries:>7} {r.recall_at_1:>9.3f} {r.recall_at_5:>9.3f} {r.mrr:>7.3f}" for r in results]
    return "\n".join(lines)
