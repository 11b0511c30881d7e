"""The public help centre: categories, articles, search with logged queries and clicks, "was this helpful"."""

import pytest
from django.test import Client
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.support import kb, search
from banso.support.models import Article, ArticleStatus, Category, SearchLog, Synonym

from ..core.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_index():
    search.invalidate()
    yield
    search.invalidate()


def _article(slug, title, body, keywords="", category=None, publish=True, actor=None):
    data = kb.ArticleInput(
        title=title, body=body, keywords=keywords, slug=slug, category_id=category.pk if category else None
    )
    article = kb.save_article(None, data, actor)
    return kb.publish(article, actor) if publish else article


@pytest.fixture
def faq(db):
    booking = Category.objects.create(code="faq-booking", name="予約・変更・キャンセル", path="予約・変更・キャンセル")
    payment = Category.objects.create(code="faq-payment", name="支払い・返金", path="支払い・返金")
    return {
        "cancel": _article(
            "予約のキャンセル",
            "予約をキャンセルする方法",
            "マイページの予約一覧から予約を開き「予約をキャンセルする」を押してください。キャンセル料がかかる場合があります。",
            "取消\n取り消し",
            booking,
        ),
        "refund": _article(
            "refund-how",
            "返金の方法と時期",
            "返金はお支払いいただいた方法で行います。クレジットカードの場合は反映まで1〜2か月かかります。",
            "払い戻し",
            payment,
        ),
        "draft": _article("draft-only", "下書きの記事 キャンセル", "まだ公開していない記事です。", publish=False),
    }


def test_anyone_sees_categories_with_their_published_articles(faq):
    response = Client().get(reverse("support:help"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "予約・変更・キャンセル" in html and "予約をキャンセルする方法" in html and "返金の方法と時期" in html
    assert "下書きの記事" not in html


def test_a_japanese_slug_opens_the_article_and_counts_the_view(faq):
    url = reverse("support:help_article", args=["予約のキャンセル"])
    assert Client().get(url).status_code == 200
    Client().get(url)
    assert Article.objects.get(slug="予約のキャンセル").views == 2
    assert Client().get(reverse("support:help_article", args=["draft-only"])).status_code == 404


def test_search_finds_hiragana_and_synonym_queries_and_logs_them(faq):
    kb.save_synonyms(["キャンセル, 取消, 取り消し, 取り消す"], None)
    client = Client()
    response = client.get(reverse("support:help_search"), {"q": "よやくをとりけしたい"})
    html = response.content.decode()
    assert f'data-article="{faq["cancel"].pk}"' in html
    assert "<mark>キャンセル</mark>" in html  # the synonym of 取り消す is highlighted
    log = SearchLog.objects.get()
    assert log.results >= 1 and log.top_article_id == faq["cancel"].pk and log.normalised == "よやくをとりけしたい"
    assert "下書き" not in html
    assert Synonym.objects.count() == 1


def test_opening_a_result_records_the_click(faq):
    client = Client()
    client.get(reverse("support:help_search"), {"q": "払い戻し いつ"})
    log = SearchLog.objects.get()
    client.get(reverse("support:help_article", args=["refund-how"]) + f"?s={log.pk}")
    log.refresh_from_db()
    assert log.clicked_article_id == faq["refund"].pk


def test_a_query_nothing_answers_is_logged_with_zero_results(faq):
    Client().get(reverse("support:help_search"), {"q": "ZZZQQQ"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert SearchLog.objects.get().results == 0


def test_feedback_needs_the_csrf_token_and_counts_on_the_article(faq):
    url = reverse("support:help_feedback", args=["refund-how"])
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url, {"helpful": "yes"}).status_code == 403
    page = strict.get(reverse("support:help_article", args=["refund-how"]))
    token = page.cookies["csrftoken"].value
    response = strict.post(url, {"helpful": "no", "comment": "カードの反映日が知りたい", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    article = Article.objects.get(slug="refund-how")
    assert (article.helpful_count, article.not_helpful_count) == (0, 1)
    assert article.feedback.get().comment == "カードの反映日が知りたい"


def test_publishing_is_audited_and_unpublished_articles_leave_search(faq):
    editor = UserFactory(role=Role.SUPPORT_AGENT)
    article = kb.publish(faq["draft"], editor)
    assert AuditEntry.objects.filter(object_id=str(article.pk), actor=editor).exists()
    assert faq["draft"].pk in [h.article_id for h in search.search("下書き", log=False)]
    kb.set_status(article, ArticleStatus.ARCHIVED, editor)
    assert faq["draft"].pk not in [h.article_id for h in search.search("下書き", log=False)]


def test_an_empty_search_goes_back_to_the_help_centre(faq):
    response = Client().get(reverse("support:help_search"), {"q": "  "})
    assert response.status_code == 302 and response.url == reverse("support:help")
    assert not SearchLog.objects.exists()
