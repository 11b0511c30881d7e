"""Designing a scorecard in the UI: measure rows added with htmx, the definition validated with errors on the
row and field at fault, each change of definition a new version listed with what changed, a preview of the
draft's score distribution, and only ops managers may design."""

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.health.models import Scorecard
from tests.accounts.factories import AccountFactory

from .factories import add_events, make_card

pytestmark = pytest.mark.django_db


def post_data(rows, **card):
    data = {
        "name": "標準カード",
        "description": "",
        "segment": "",
        "tier": "",
        "priority": "100",
        "is_active": "on",
        "red_below": "40",
        "green_from": "70",
        "note": "",
        "m-TOTAL_FORMS": str(len(rows)),
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "0",
        "m-MAX_NUM_FORMS": "1000",
        **card,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"m-{i}-{key}"] = value
    return data


LOGIN_ROW = {"key": "metric:logins_30d", "label": "", "weight": "60", "mapping": "range", "bad": "0", "good": "20"}
INQUIRY_ROW = {
    "key": "inquiries:open",
    "label": "未解決",
    "weight": "40",
    "mapping": "thresholds",
    "steps": "3:0, 1:50",
    "otherwise": "100",
}


def test_an_ops_manager_creates_a_card_from_measure_rows(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        reverse("health:scorecard_create"), post_data([LOGIN_ROW, INQUIRY_ROW], tier="high", priority="5")
    )
    card = Scorecard.objects.get()
    assert response.status_code == 302 and response.url == reverse("health:scorecard", args=[card.pk])
    assert (card.tier, card.priority, card.current.number) == ("high", 5, 1)
    assert card.current.definition["measures"][1] == {
        "key": "inquiries:open",
        "label": "未解決",
        "weight": 40.0,
        "mapping": {
            "type": "thresholds",
            "steps": [{"min": 3.0, "points": 0.0}, {"min": 1.0, "points": 50.0}],
            "otherwise": 100.0,
        },
    }
    page = client.get(response.url).content.decode()
    assert "ログイン" in page and "未解決" in page and "v1" in page


def test_bad_rows_get_their_errors_on_the_field_and_nothing_is_saved(client_as):
    client = client_as(Role.OPS_MANAGER)
    bad_steps = {**INQUIRY_ROW, "steps": "1:50, 3:0"}
    same = {**LOGIN_ROW, "bad": "5", "good": "5"}
    response = client.post(
        reverse("health:scorecard_create"), post_data([same, bad_steps], red_below="80", green_from="60")
    )
    assert response.status_code == 200 and not Scorecard.objects.exists()
    page = response.content.decode()
    assert page.count('class="measure-row has-error"') == 2
    assert "しきい値" in page  # the thresholds field is named beside its error


def test_a_row_for_thresholds_must_be_written_as_value_points(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(reverse("health:scorecard_create"), post_data([{**INQUIRY_ROW, "steps": "たくさん"}]))
    assert response.status_code == 200 and not Scorecard.objects.exists()
    assert "たくさん" in response.content.decode()


def test_editing_the_definition_makes_a_new_version_and_the_page_lists_what_changed(client_as):
    card = make_card()
    client = client_as(Role.OPS_MANAGER)
    heavier = {**LOGIN_ROW, "weight": "80"}
    response = client.post(
        reverse("health:scorecard_edit", args=[card.pk]), post_data([heavier], note="問い合わせは別カードへ")
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert list(card.versions.values_list("number", flat=True).order_by("number")) == [1, 2]
    page = client.get(reverse("health:scorecard", args=[card.pk])).content.decode()
    assert "重み 60 → 80" in page and "を削除" in page and "問い合わせは別カードへ" in page


def test_saving_without_a_change_of_definition_keeps_the_version(client_as):
    card = make_card()
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        reverse("health:scorecard_edit", args=[card.pk]),
        post_data([LOGIN_ROW, {**INQUIRY_ROW, "label": ""}], name="名前だけ変更"),
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.name == "名前だけ変更" and card.versions.count() == 1


def test_the_add_button_returns_one_more_row_and_bumps_the_count(client_as):
    response = client_as(Role.OPS_MANAGER).get(
        reverse("health:measure_row"), {"m-TOTAL_FORMS": "2"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert 'name="m-2-key"' in page and 'value="3"' in page and "hx-swap-oob" in page
    assert "ログイン" in page and "未解決の問い合わせ" in page  # measures grouped by category


@pytest.mark.django_db(transaction=True)
def test_the_preview_scores_the_draft_on_todays_data_without_saving(client_as):
    from django.utils import timezone

    busy = AccountFactory()
    AccountFactory()
    add_events(busy.pk, "login", timezone.localdate(), n=20)
    response = client_as(Role.OPS_MANAGER).post(reverse("health:scorecard_preview"), post_data([LOGIN_ROW]))
    page = response.content.decode()
    assert "data-preview-count>2<" in page
    assert not Scorecard.objects.exists()


def test_a_csm_sees_cards_but_cannot_design_them(client_as):
    card = make_card()
    client = client_as(Role.CSM)
    assert client.get(reverse("health:scorecard", args=[card.pk])).status_code == 200
    assert client.get(reverse("health:scorecard_create")).status_code == 403
    assert client.post(reverse("health:scorecard_edit", args=[card.pk]), post_data([LOGIN_ROW])).status_code == 403


def test_the_demo_cards_are_valid_definitions():
    from banso.health import demo
    from banso.health import services as health

    for card in demo.cards():
        health.save_scorecard(None, **card)
    assert sorted(Scorecard.objects.values_list("name", "tier")) == [
        ("テックタッチ顧客", "tech"),
        ("標準カード", ""),
        ("高タッチ顧客", "high"),
    ]
