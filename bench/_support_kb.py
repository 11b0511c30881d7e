"""Knowledge-base search over 10,000 Japanese articles (part of `banso bench support`).

Articles (10,000 x scale, at least 200) are generated deterministically from the shipped FAQ set
(src/banso/support/data/faq_ja.json): each is an FAQ article rewritten for one of the marketplace's service
categories (エアコンクリーニング, 引っ越し, 家事代行 …) with a category sentence, so titles and bodies differ
while the vocabulary stays realistic. Their e5 embeddings are computed once and cached under the var directory
(as publishing computes them in production); `embed_seconds` is only spent on the first run.

Timed: the in-memory index build (tokenising with MeCab, BM25 matrix; `index_build_seconds`), then >= 500
customer queries (the Japanese query set, and the same questions asked about a service category) through each
mode, query embedding and snippets included; `search_p95_ms` is the shipped mode's 95th percentile.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

SERVICES = (
    "ハウスクリーニング",
    "エアコンクリーニング",
    "水回りクリーニング",
    "家事代行",
    "引っ越し",
    "不用品回収",
    "外壁塗装",
    "庭木の剪定",
    "リフォーム",
    "鍵の交換",
    "ピアノ教室",
    "英会話レッスン",
    "写真撮影",
    "ペットシッター",
    "家具組み立て",
    "害虫駆除",
    "エアコン取り付け",
    "トイレつまり",
    "網戸の張り替え",
    "出張カメラマン",
    "フードデリバリー",
    "ベビーシッター",
    "整体",
    "ヨガ教室",
    "車のコーティング",
)
AREAS = ("東京都", "大阪府", "神奈川県", "愛知県", "福岡県", "北海道", "京都府", "兵庫県")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banso.settings")
    import django

    django.setup()


def _log(message: str) -> None:
    print(f"[support kb] {message}", file=sys.stderr, flush=True)


def generate(n: int) -> list[Any]:
    from banso.support.search import Doc
    from banso.support.search_eval import load_faq

    faq = load_faq()["articles"]
    docs = []
    for i in range(n):
        base = faq[i % len(faq)]
        service = SERVICES[(i // len(faq)) % len(SERVICES)]
        area = AREAS[(i // (len(faq) * len(SERVICES))) % len(AREAS)]
        round_ = i // (len(faq) * len(SERVICES) * len(AREAS))
        title = f"【{service}】{base['title']}" + (f"（{area}）" if i >= len(faq) * len(SERVICES) else "")
        body = f"{service}のご依頼についてのご案内です。{base['body']}{area}の{service}の出店者でも同じ手続きです。" + (
            f"（改訂{round_}）" if round_ else ""
        )
        docs.append(Doc(i + 1, f"kb-{i + 1}", title, body, base.get("keywords", ""), category_id=i % len(SERVICES)))
    return docs


def queries(count: int = 600) -> list[str]:
    from banso.support.search_eval import QUERIES_FILE

    base = [row["query"] for row in json.loads(QUERIES_FILE.read_text(encoding="utf-8"))]
    out = list(base)
    i = 0
    while len(out) < count:
        out.append(f"{SERVICES[i % len(SERVICES)]}で{base[i % len(base)]}")
        i += 1
    return out[:count]


def run(scale: float = 1.0) -> dict[str, Any]:
    _setup()
    from banso.support import search as kb_search
    from banso.support.search_eval import cached_embeddings, load_faq

    n = max(200, int(10_000 * scale))
    docs = generate(n)
    started = time.perf_counter()
    for start in range(0, n, 500):  # cached per 500 articles, so an interrupted first run keeps its progress
        cached_embeddings(docs[start : start + 500], "bench")
        _log(f"embedded {min(start + 500, n):,} / {n:,}")
    embed_seconds = time.perf_counter() - started
    _log(f"{n:,} articles, embeddings ready in {embed_seconds:.1f} s")
    synonyms = load_faq().get("synonyms", [])
    started = time.perf_counter()
    index = kb_search.Index(docs, synonyms)
    build_seconds = time.perf_counter() - started
    _log(f"index built in {build_seconds:.2f} s ({len(index.vocab):,} terms)")
    asked = queries()
    figures: dict[str, Any] = {}
    for mode in kb_search.SearchMode.ALL:
        kb_search.embed_query.cache_clear()
        for query in asked[:20]:  # warm-up
            index.rank(query, mode, 5)
        kb_search.embed_query.cache_clear()
        kb_search.analyse.cache_clear()
        times = []
        for query in asked:
            t0 = time.perf_counter()
            ranked, _ = index.rank(query, mode, 5)
            words = index.query_terms(query)[1]
            for pos, _score in ranked:
                kb_search.snippet(index.docs[pos].body, words)
            times.append(time.perf_counter() - t0)
        ms = np.array(times) * 1000.0
        figures[f"{mode}_p95_ms"] = round(float(np.percentile(ms, 95)), 2)
        figures[f"{mode}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
        _log(f"{mode}: p50 {figures[f'{mode}_p50_ms']} ms, p95 {figures[f'{mode}_p95_ms']} ms")
    kb_search.embed_query.cache_clear()
    embed_times = []
    for query in asked:
        t0 = time.perf_counter()
        kb_search.embed_query(query)
        embed_times.append(time.perf_counter() - t0)
    figures["query_embed_p95_ms"] = round(float(np.percentile(np.array(embed_times) * 1000.0, 95)), 2)
    shipped = kb_search.mode()
    return {
        "articles": n,
        "search_p95_ms": figures[f"{shipped}_p95_ms"],
        "search_mode": shipped,
        "search_queries": len(asked),
        "index_build_seconds": round(build_seconds, 2),
        "embed_seconds": round(embed_seconds, 1),
        **figures,
    }


if __name__ == "__main__":
    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)))
