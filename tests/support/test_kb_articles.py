"""Staff knowledge-base pages, the JSON API, bulk import and the search logs."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from banso.core.choices import Role
from banso.support import kb, search
from banso.support.models import Article, ArticleStatus, Category, SearchLog


@pytest.fixture(autouse=True)
def _fresh_index():
    search.invalidate()
    yield
    search.invalidate()


def test_an_agent_writes_publishes_edits_and_reverts_an_article(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    response = client.post(
        reverse("support:kb_article_new"),
        {
            "title": "ポイントの有効期限",
            "body": "ポイントの有効期限は1年です。",
            "slug": "ポイント期限",
            "note": "初版",
        },
    )
    article = Article.objects.get(slug="ポイント期限")
    assert response.status_code == 302 and article.status == ArticleStatus.DRAFT
    client.post(reverse("support:kb_article_publish", args=[article.pk]))
    client.post(
        reverse("support:kb_article_save", args=[article.pk]),
        {"title": "ポイントの有効期限", "body": "ポイントの有効期限は最後の利用から2年です。", "slug": "ポイント期限"},
    )
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED and "1年" in article.body  # live text unchanged until published
    page = client.get(reverse("support:kb_article", args=[article.pk])).content.decode()
    assert 'class="diff-added"' in page and "2年です" in page and 'class="diff-removed"' in page
    client.post(reverse("support:kb_article_publish", args=[article.pk]), {"version": "2"})
    article.refresh_from_db()
    assert "2年" in article.body
    client.post(reverse("support:kb_article_revert", args=[article.pk]), {"version": "1"})
    assert list(article.versions.values_list("number", flat=True)) == [3, 2, 1]
    assert article.versions.get(number=3).body == "ポイントの有効期限は1年です。"


def test_a_viewer_reads_the_list_but_cannot_edit(client_as):
    kb.save_article(None, kb.ArticleInput(title="退会方法", body="設定から退会できます。", slug="taikai"), None)
    viewer = client_as(Role.VIEWER)
    page = viewer.get(reverse("support:kb_articles"))
    assert page.status_code == 200 and "退会方法" in page.content.decode()
    article = Article.objects.get()
    assert viewer.post(reverse("support:kb_article_publish", args=[article.pk])).status_code == 403
    assert viewer.get(reverse("support:kb_article_new")).status_code == 403


def test_a_duplicate_slug_is_refused_naming_the_field(client_as):
    kb.save_article(None, kb.ArticleInput(title="A", body="本文", slug="same"), None)
    response = client_as(Role.SUPPORT_AGENT).post(
        reverse("support:kb_article_new"), {"title": "B", "body": "x", "slug": "same"}
    )
    assert response.status_code == 422 and 'data-field="slug"' in response.content.decode()
    assert Article.objects.count() == 1


def test_search_logs_list_zero_result_and_unclicked_queries(client_as):
    article = kb.publish(
        kb.save_article(
            None,
            kb.ArticleInput(title="領収書の発行", body="領収書はマイページから発行できます。", slug="receipt"),
            None,
        ),
        None,
    )
    search.search("領収書", log=True)
    search.search("領収書", log=True)
    _, log = search.search_logged("領収書 宛名")
    search.record_click(log.pk, article)
    search.search("ペット同伴", log=True)
    page = client_as(Role.VIEWER).get(reverse("support:search_logs")).content.decode()
    zero = page.split('id="kb-zero"')[1].split("</table>")[0]
    no_click = page.split('id="kb-no-click"')[1].split("</table>")[0]
    assert "ペット同伴" in zero and "領収書" not in zero
    assert "領収書</td>" in no_click and "宛名" not in no_click
    report = kb.search_log_report(
        SearchLog.objects.earliest("created_at").created_at,
        SearchLog.objects.latest("created_at").created_at.replace(year=2100),
    )
    assert (report.searches, report.zero_results, report.clicked) == (4, 1, 1)


def test_the_api_creates_publishes_and_searches_articles(api_as):
    api = api_as(Role.SUPPORT_AGENT)
    created = api.post(
        "/api/support/kb/articles",
        {
            "title": "クーポンの使い方",
            "body": "予約画面でクーポンを選んでください。",
            "keywords": "割引",
            "slug": "coupon",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    article_id = created.json()["id"]
    assert (
        api.post(f"/api/support/kb/articles/{article_id}/publish", {}, content_type="application/json").json()["status"]
        == "published"
    )
    found = api.get("/api/support/kb/search", {"q": "割引コードはどこで入力"}).json()
    assert found["hits"][0]["article_id"] == article_id and found["log_id"]
    bad = api.post("/api/support/kb/articles", {"title": "", "body": "x"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "title"
    assert (
        api_as(Role.VIEWER)
        .post("/api/support/kb/articles", {"title": "x", "body": "y"}, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        api.post(
            f"/api/support/kb/articles/{article_id}/feedback", {"helpful": True}, content_type="application/json"
        ).status_code
        == 201
    )
    assert api.get("/api/support/kb/search-logs").json()["searches"] == 1


def test_import_is_all_or_nothing_and_names_the_bad_row(tmp_path, db):
    good = {"slug": "a1", "title": "予約の方法", "body": "予約ボタンを押します。", "category": "faq-x"}
    bad = {"slug": "a2", "title": "", "body": "本文"}
    path = tmp_path / "faq.json"
    path.write_text(
        json.dumps({"categories": [{"code": "faq-x", "name": "予約"}], "articles": [good, bad]}, ensure_ascii=False),
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="row 2 title"):
        call_command("support", "kb-import", str(path))
    assert Article.objects.count() == 0 and not Category.objects.filter(code="faq-x").exists()
    csv_path = tmp_path / "faq.csv"
    csv_path.write_text(
        "slug,title,body,keywords\nc1,返金の時期,返金は2週間以内です。,払い戻し|お金\n", encoding="cp932"
    )
    call_command("support", "kb-import", str(csv_path))
    article = Article.objects.get(slug="c1")
    assert article.status == ArticleStatus.PUBLISHED and article.keywords == "払い戻し\nお金"
    assert article.search_embedding
