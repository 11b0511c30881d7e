"""Score pages: the overview (bands, accounts sorted by score or change, filters), an account's health page
(trend chart with band lines, explanation with redistributed weights, what moved it), the Account 360
card, and rescore runs with their progress."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from banso.accounts.choices import TouchTier
from banso.core.choices import Role
from banso.health.models import HealthRun, HealthSnapshot
from tests.accounts.factories import AccountFactory

from .factories import LOGINS, OPEN_INQUIRIES, definition, make_card

pytestmark = pytest.mark.django_db
D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)


def snap(account, card, day, score, band, values, change=None):
    return HealthSnapshot.objects.create(
        account=account,
        day=day,
        score=Decimal(score),
        band=band,
        change=None if change is None else Decimal(change),
        scorecard=card,
        version=card.current,
        values=values,
    )


@pytest.fixture
def scored():
    card = make_card("標準カード", definition_data=definition(LOGINS, OPEN_INQUIRIES))
    high = make_card("高タッチ顧客", tier=TouchTier.HIGH, definition_data=definition(LOGINS))
    healthy, falling, risky = (
        AccountFactory(name="元気商事"),
        AccountFactory(name="下降工業"),
        AccountFactory(name="危険物産"),
    )
    snap(healthy, card, D2, "100.0", "green", {"metric:logins_30d": 20.0, "inquiries:open": 0.0}, "0.0")
    snap(falling, card, D1, "88.0", "green", {"metric:logins_30d": 16.0, "inquiries:open": 0.0})
    snap(falling, card, D2, "50.0", "yellow", {"metric:logins_30d": 10.0, "inquiries:open": 2.0}, "-38.0")
    snap(risky, high, D2, "10.0", "red", {"metric:logins_30d": 2.0}, "-5.0")
    return {"card": card, "high": high, "healthy": healthy, "falling": falling, "risky": risky}


def test_the_overview_shows_bands_and_the_worst_accounts_first(client_as, scored):
    page = client_as(Role.CSM).get(reverse("health:index")).content.decode()
    assert "2026-11-20時点のヘルススコアです。" in page
    names = [page.index(n) for n in ("危険物産", "下降工業", "元気商事")]
    assert names == sorted(names)


def test_the_overview_sorts_by_change_and_filters_by_band_and_card(client_as, scored):
    client = client_as(Role.CSM)
    by_change = client.get(reverse("health:index"), {"sort": "change"}).content.decode()
    assert by_change.index("下降工業") < by_change.index("危険物産") < by_change.index("元気商事")
    red = client.get(reverse("health:index"), {"band": "red"}).content.decode()
    assert "危険物産" in red and "下降工業" not in red
    high = client.get(reverse("health:index"), {"card": scored["high"].pk}).content.decode()
    assert "危険物産" in high and "元気商事" not in high


def test_the_account_page_explains_the_score_and_names_what_moved_it(client_as, scored):
    response = client_as(Role.CSM).get(reverse("health:account", args=[scored["falling"].pk]))
    page = response.content.decode()
    assert "2026-11-20のスコアの内訳" in page
    # inquiries: 100 → 50 points at 40 % (-20.0); logins: 80 → 50 points at 60 % (-18.0)
    assert "最も大きく動かしたのは「未解決の問い合わせ」（-20.0点）" in page
    chart = response.context["chart"]
    assert chart["data"]["labels"] == ["2026-11-19", "2026-11-20"]
    assert [d["data"] for d in chart["data"]["datasets"]] == [[88.0, 50.0], [40, 40], [70, 70]]
    movement = response.context["comparison"].top
    assert (movement.key, movement.before_raw, movement.after_raw, movement.delta) == (
        "inquiries:open",
        0.0,
        2.0,
        -20.0,
    )


def test_a_measure_without_data_is_shown_with_its_weight_redistributed(client_as, scored):
    account = AccountFactory()
    snap(account, scored["card"], D2, "50.0", "yellow", {"metric:logins_30d": 10.0, "inquiries:open": None})
    page = client_as(Role.CSM).get(reverse("health:account", args=[account.pk])).content.decode()
    assert page.count("データなし: 重みを他の指標に再配分") == 2  # the notice and the measure's row
    assert "100%" in page and "0%" in page


def test_a_chosen_day_is_explained_and_compared_with_a_chosen_day(client_as, scored):
    response = client_as(Role.CSM).get(
        reverse("health:account", args=[scored["falling"].pk]), {"day": "2026-11-19", "against": "2026-11-20"}
    )
    assert response.context["explanation"].day == D1
    assert response.context["comparison"].before.day == D2


def test_the_account_360_shows_the_health_card(client_as, scored):
    page = client_as(Role.CSM).get(reverse("accounts:detail", args=[scored["falling"].pk])).content.decode()
    assert "ヘルススコア" in page and "50.0" in page and "-38.0" in page
    assert reverse("health:account", args=[scored["falling"].pk]) in page


def test_the_scorecard_list_and_detail_show_cards_with_their_accounts(client_as, scored):
    client = client_as(Role.CSM)
    listing = client.get(reverse("health:scorecards")).content.decode()
    assert "高タッチ顧客" in listing and "標準" in listing and "タッチ区分: ハイタッチ" in listing
    detail = client.get(reverse("health:scorecard", args=[scored["card"].pk])).content.decode()
    assert "最初のバージョン: 指標2個" in detail and "0（0点）から20（100点）まで直線" in detail


def test_the_rescore_button_queues_a_run_whose_page_shows_its_progress(client_as, django_capture_on_commit_callbacks):
    client = client_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("health:run_start"))
    run = HealthRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("health:run", args=[run.pk])
    HealthRun.objects.filter(pk=run.pk).update(status="running", percent=70, step="70件のスコアを書き込んでいます")
    progress = client.get(reverse("health:run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert "70%" in progress.content.decode() and "hx-trigger" in progress.content.decode()
    assert client_as(Role.CSM).post(reverse("health:run_start")).status_code == 403


def test_the_overview_without_scores_says_what_to_do(client_as):
    page = client_as(Role.CSM).get(reverse("health:index")).content.decode()
    assert "スコアカードを設計し" in page


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_rescore_and_its_page_shows_the_outcome(client_as):
    from django.test import override_settings

    from banso.health.models import RunStatus

    account = AccountFactory()
    make_card()
    client = client_as(Role.OPS_MANAGER)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}):
        response = client.post(reverse("health:run_start"))
    run = HealthRun.objects.get()
    assert (run.status, run.percent, run.accounts_scored) == (RunStatus.SUCCEEDED, 100, 1)
    assert HealthSnapshot.objects.filter(account=account).exists()
    progress = client.get(reverse("health:run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"
    page = client.get(response.url).content.decode()
    assert "完了" in page and "every 1s" not in page
