"""Japanese matching: lemmas, kana readings, width/kana variants, synonyms; published-only, category filter and
the index following publishes made elsewhere."""

import pytest
from django.utils import timezone

from banso.support import kb, search
from banso.support.models import Article, Category
from banso.support.search import Doc, Index

DOCS = [
    Doc(1, "cancel", "予約をキャンセルする方法", "マイページの予約一覧から予約をキャンセルできます。"),
    Doc(2, "refund", "返金の時期", "返金はクレジットカード会社経由で行います。", "払い戻し"),
    Doc(3, "login", "ログインできない", "パスワードを再設定してください。"),
    Doc(4, "receipt", "領収書の発行", "支払い履歴から領収書をダウンロードできます。"),
]


@pytest.fixture(scope="module")
def index():
    return Index(DOCS, ["キャンセル, 取消, 取り消し", "領収書, レシート"], semantic=False)


def _top(index, query):
    ranked, _ = index.rank(query, search.SearchMode.LEXICAL, 3)
    return DOCS[ranked[0][0]].slug if ranked else None


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("予約しました", "cancel"),  # inflected verb -> lemma 予約
        ("よやくのきゃんせる", "cancel"),  # hiragana only
        ("ｷｬﾝｾﾙ", "cancel"),  # half-width katakana
        ("予約取消", "cancel"),  # synonym
        ("へんきん", "refund"),  # reading of 返金
        ("払い戻ししてほしい", "refund"),  # keyword
        ("ろぐいん", "login"),
        ("レシートがほしい", "receipt"),  # synonym of 領収書
    ],
)
def test_customers_words_find_the_article(index, query, slug):
    assert _top(index, query) == slug


def test_particles_alone_find_nothing(index):
    assert index.rank("をにはが", search.SearchMode.LEXICAL, 5) == ([], 0)


def test_title_words_weigh_more_than_body_words():
    docs = [
        Doc(1, "body", "お支払いについて", "返金の方法を説明します。"),
        Doc(2, "title", "返金について", "お支払いの方法を説明します。"),
    ]
    ranked, _ = Index(docs, semantic=False).rank("返金", search.SearchMode.LEXICAL, 2)
    assert [docs[i].slug for i, _ in ranked] == ["title", "body"]


@pytest.fixture
def published(db):
    search.invalidate()
    house = Category.objects.create(code="house", name="ハウスクリーニング", path="ハウスクリーニング")
    aircon = Category.objects.create(code="aircon", name="エアコン", path="ハウスクリーニング > エアコン", parent=house)
    moving = Category.objects.create(code="moving", name="引っ越し", path="引っ越し")
    made = {}
    for slug, title, category in (
        ("a-aircon", "エアコン掃除のキャンセル", aircon),
        ("a-moving", "引っ越しのキャンセル", moving),
    ):
        article = kb.save_article(
            None,
            kb.ArticleInput(title=title, body=f"{title}はマイページから。", slug=slug, category_id=category.pk),
            None,
        )
        made[slug] = kb.publish(article, None)
    yield {"house": house, "moving": moving, **made}
    search.invalidate()


def test_a_category_filter_includes_its_subcategories(published):
    hits = search.search("キャンセル", category=published["house"], log=False)
    assert [h.article_id for h in hits] == [published["a-aircon"].pk]


def test_the_index_follows_a_publish_made_by_another_process(published):
    assert len(search.search("キャンセル", log=False)) == 2
    # Another process archives an article: only the database changes; this process notices by the stamp.
    Article.objects.filter(pk=published["a-moving"].pk).update(status="archived", updated_at=timezone.now())
    search._state["checked"] = 0.0  # the once-a-second check is due
    assert [h.article_id for h in search.search("キャンセル", log=False)] == [published["a-aircon"].pk]


def test_hits_link_to_the_help_centre_with_a_snippet(published):
    hit = search.search("エアコン キャンセル", log=False)[0]
    assert hit.url == f"/support/help/articles/{published['a-aircon'].slug}/"
    assert "エアコン" in hit.snippet and hit.score > 0
