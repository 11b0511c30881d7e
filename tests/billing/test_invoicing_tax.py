"""Consumption tax per rate and registration numbers, against hand-computed cases."""

import pytest
from django.core.exceptions import ValidationError

from banso.billing.tax import RateTotal, registration_check_digit, totals_per_rate, validate_registration_number


def test_tax_is_computed_once_per_rate_on_mixed_10_and_8_percent_lines():
    lines = [(1_000, 10), (2_345, 10), (1_080, 8), (999, 8)]
    # 10%: 3,345 → 334.5 → 334; 8%: 2,079 → 166.32 → 166
    assert totals_per_rate(lines) == {
        10: RateTotal(rate=10, subtotal=3_345, tax=334),
        8: RateTotal(rate=8, subtotal=2_079, tax=166),
    }


def test_rounding_per_rate_differs_from_rounding_each_line():
    lines = [(105, 10), (105, 10), (105, 10)]
    per_line = sum(amount * rate // 100 for amount, rate in lines)  # 10 + 10 + 10
    assert per_line == 30
    # Once per rate: 315 × 10% = 31.5 → 31 (切り捨て), one yen more than rounding each line.
    assert totals_per_rate(lines)[10].tax == 31


def test_fractions_of_a_yen_are_dropped():
    assert totals_per_rate([(99, 8)])[8] == RateTotal(rate=8, subtotal=99, tax=7)  # 7.92 → 7
    assert totals_per_rate([(19, 10)])[10].total == 20  # 1.9 → 1


def test_only_rates_that_occur_are_returned_highest_first():
    assert list(totals_per_rate([(100, 8), (100, 10)])) == [10, 8]
    assert list(totals_per_rate([(100, 8)])) == [8]
    assert totals_per_rate([]) == {}


def test_an_unknown_rate_is_refused():
    with pytest.raises(ValueError):
        totals_per_rate([(100, 5)])


def test_the_national_tax_agencys_own_number_is_valid():
    assert registration_check_digit("000012050002") == 7
    assert validate_registration_number("T7000012050002") == "T7000012050002"


@pytest.mark.parametrize(
    "raw",
    ["t7000012050002", "T 7000-0120-50002", "Ｔ７０００ ０１２０ ５０００２", "7000012050002", " T7000012050002 "],
)
def test_registration_numbers_are_normalised(raw):
    assert validate_registration_number(raw) == "T7000012050002"


def test_a_wrong_check_digit_is_refused_with_a_message_saying_so():
    with pytest.raises(ValidationError) as error:
        validate_registration_number("T8000012050002")
    assert error.value.code == "check_digit"
    assert "T8000012050002" in error.value.messages[0]


@pytest.mark.parametrize("raw", ["T700001205000", "T70000120500021", "T"])
def test_a_wrong_length_is_refused(raw):
    with pytest.raises(ValidationError) as error:
        validate_registration_number(raw)
    assert error.value.code in ("length", "required")


@pytest.mark.parametrize("raw", ["", "   ", "X7000012050002", "T70000120500O2"])
def test_empty_or_non_digit_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        validate_registration_number(raw)


def test_the_error_is_japanese_when_the_language_is_japanese():
    from django.utils import translation

    with translation.override("ja"), pytest.raises(ValidationError) as error:
        validate_registration_number("T8000012050002")
    assert error.value.messages[0]  # translated once the catalogue is merged; never empty
