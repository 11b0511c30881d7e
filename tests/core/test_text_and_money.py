"""Normalisation for Japanese matching and integer-yen parsing."""

import pytest

from banso.core.money import InvalidYen, format_yen, parse_yen
from banso.core.text import normalise, search_key


def test_katakana_hiragana_and_half_width_meet_in_one_search_key():
    assert normalise("ｶﾌﾞｼｷｶﾞｲｼｬ") == normalise("カブシキガイシャ") == normalise("かぶしきがいしゃ")


def test_full_width_latin_and_case_are_folded():
    assert normalise("ＡＢＣ　Ｓｏｌｕｔｉｏｎｓ") == "abcsolutions"


def test_search_key_joins_name_and_reading():
    key = search_key("株式会社アオバ", "カブシキガイシャアオバ")
    assert normalise("あおば") in key and "株式会社" in key


@pytest.mark.parametrize(("raw", "expected"), [("12,000", 12000), ("¥3000", 3000), ("500円", 500), (42, 42)])
def test_yen_amounts_parse_to_integers(raw, expected):
    assert parse_yen(raw) == expected


@pytest.mark.parametrize("raw", ["12.5", "-100", "abc", ""])
def test_fractional_negative_and_non_numeric_yen_are_refused(raw):
    with pytest.raises(InvalidYen):
        parse_yen(raw)


def test_negative_yen_allowed_where_asked_for_refunds():
    assert parse_yen("-100", allow_negative=True) == -100


def test_yen_is_shown_with_separators():
    assert format_yen(1234567) == "¥1,234,567"
