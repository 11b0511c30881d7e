import pytest

from banso.accounts.services import AccountFilters, account_queryset

from .factories import AccountFactory

pytestmark = pytest.mark.django_db


def found(q: str) -> list[str]:
    return [a.name for a in account_queryset(AccountFilters(q=q))]


def test_katakana_query_finds_a_hiragana_reading():
    AccountFactory(name="山田商事", name_kana="やまだしょうじ")
    assert found("ヤマダ") == ["山田商事"]


def test_hiragana_query_finds_a_katakana_reading():
    AccountFactory(name="鈴木物産", name_kana="スズキブッサン")
    assert found("すずき") == ["鈴木物産"]


def test_half_width_kana_query_finds_the_account():
    AccountFactory(name="田中工業", name_kana="タナカコウギョウ")
    assert found("ﾀﾅｶ") == ["田中工業"]
    assert found("ｺｳｷﾞｮｳ") == ["田中工業"]


def test_full_width_latin_and_case_are_ignored():
    AccountFactory(name="ACME Japan", name_kana="あくめ")
    assert found("ａｃｍｅ") == ["ACME Japan"]
    assert found("acme japan") == ["ACME Japan"]


def test_search_matches_the_name_as_well_as_the_reading():
    AccountFactory(name="伴走テクノロジー", name_kana="ばんそうてくのろじー")
    AccountFactory(name="別会社", name_kana="べつがいしゃ")
    assert found("伴走") == ["伴走テクノロジー"]
    assert found("テクノ") == ["伴走テクノロジー"]
    assert found("存在しない") == []
