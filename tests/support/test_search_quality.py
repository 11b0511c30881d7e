"""Search quality on the shipped Japanese FAQ set and customer query set (a regression guard, not a timing test).

Measured with `banso support kb-eval` (210 queries, 83 articles):
    lexical   recall@1 0.776  recall@5 0.948  MRR 0.853
    semantic  recall@1 0.729  recall@5 0.890  MRR 0.801
    hybrid    recall@1 0.843  recall@5 0.962  MRR 0.899   <- shipped (SUPPORT_SEARCH_MODE)
"""

import json

from django.conf import settings

from banso.support.search_eval import FAQ_FILE, QUERIES_FILE, evaluate, load_faq

MEASURED_RECALL_AT_5 = {"hybrid": 0.962, "lexical": 0.948, "semantic": 0.890}
MARGIN = 0.02


def test_the_query_set_covers_every_faq_article_with_realistic_queries():
    faq = load_faq(FAQ_FILE)
    queries = json.loads(QUERIES_FILE.read_text(encoding="utf-8"))
    slugs = {a["slug"] for a in faq["articles"]}
    assert len(faq["articles"]) >= 80 and len(queries) >= 200
    assert {q["slug"] for q in queries} == slugs


def test_the_shipped_mode_keeps_its_measured_recall_at_5():
    shipped = settings.SUPPORT_SEARCH_MODE
    result = evaluate(modes=(shipped,))[0]
    assert result.recall_at_5 >= MEASURED_RECALL_AT_5[shipped] - MARGIN
    assert result.recall_at_1 >= 0.8


def test_hybrid_is_at_least_as_good_as_either_alone():
    results = {r.mode: r for r in evaluate()}
    assert results["hybrid"].mrr >= max(results["lexical"].mrr, results["semantic"].mrr)
    assert settings.SUPPORT_SEARCH_MODE == "hybrid"
