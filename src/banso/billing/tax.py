"""Japanese consumption tax on the operator's own documents: registration numbers (登録番号) and the tax per
rate on a qualified invoice (適格請求書).

Sources (National Tax Agency, 国税庁):
- インボイス制度 「適格請求書等保存方式の概要」 and its Q&A (問57 on rounding: the consumption tax is rounded once per
  invoice and per tax rate, never per line; the rounding method itself — 切り上げ, 切り捨て or 四捨五入 — is the
  issuer's choice): https://www.nta.go.jp/taxes/shiraberu/zeimokubetsu/shohi/keigenzeiritsu/invoice_about.htm
- 法人番号の指定等に関する省令 第2条 (check digit of the corporate number, which is the 13 digits of a
  corporation's registration number): https://www.houjin-bangou.nta.go.jp/documents/checkdigit.pdf
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

STANDARD_RATE = 10
REDUCED_RATE = 8
RATES = (STANDARD_RATE, REDUCED_RATE)

#: How a fraction of a yen of consumption tax is rounded, once per rate per document: 切り捨て (floor).
#: The most common choice among Japanese issuers, and it never charges the merchant more than the exact tax.
ROUNDING = "floor"


def registration_check_digit(body: str) -> int:
    """The check digit of a 12-digit corporate number body: 9 − (Σ Pn × Qn mod 9), Pn the n-th digit from the
    right, Qn = 1 for odd n and 2 for even n (法人番号の指定等に関する省令 第2条)."""
    total = sum(int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(body), start=1))
    return 9 - total % 9


def validate_registration_number(value: str) -> str:
    """Normalise a qualified invoice issuer registration number (登録番号) to ``T`` + 13 digits.

    Accepts full-width characters (NFKC), spaces and hyphens, and a lower-case ``t``; a bare 13-digit number
    gets its ``T``. The first of the 13 digits is the corporate number's check digit (see the module sources);
    the National Tax Agency's own number ``T7000012050002`` passes. Individuals' registration numbers are
    issued with a valid check digit too, so one rule covers both.

    Raises ValidationError with a Japanese (translated) message naming what is wrong.
    """
    text = unicodedata.normalize("NFKC", value or "")
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "-‐‑–—−ー")
    if text[:1] in ("T", "t"):
        text = text[1:]
    if not text:
        raise ValidationError(_("Enter the registration number (T followed by 13 digits)."), code="required")
    if not text.isascii() or not text.isdigit():
        raise ValidationError(
            _("A registration number is T followed by 13 digits: %(value)s contains other characters."),
            code="invalid",
            params={"value": value},
        )
    if len(text) != 13:
        raise ValidationError(
            _("A registration number has 13 digits after the T (%(count)d given)."),
            code="length",
            params={"count": len(text)},
        )
    if int(text[0]) != registration_check_digit(text[1:]):
        raise ValidationError(
            _("The registration number T%(digits)s has a wrong check digit: please check it for typos."),
            code="check_digit",
            params={"digits": text},
        )
    return "T" + text


def is_valid_registration_number(value: str) -> bool:
    try:
        validate_registration_number(value)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class RateTotal:
    """The lines of one tax rate on a document: `subtotal` tax excluded, `tax` rounded once."""

    rate: int
    subtotal: int
    tax: int

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


def tax_for(subtotal: int, rate: int) -> int:
    """Consumption tax on a rate's tax-excluded subtotal, its fraction of a yen dropped (ROUNDING, in integers:
    never float). A negative subtotal is truncated towards zero, so its tax mirrors the positive one."""
    tax = abs(subtotal) * rate // 100
    return tax if subtotal >= 0 else -tax


def totals_per_rate(lines: Iterable[tuple[int, int]]) -> dict[int, RateTotal]:
    """Group (amount tax excluded, rate) pairs by rate and compute the tax ONCE per rate (never per line).

    Only rates that occur are returned, highest rate first. A rate other than 10 or 8 is refused.
    """
    subtotals: dict[int, int] = {}
    for amount, rate in lines:
        if rate not in RATES:
            raise ValueError(f"unsupported tax rate {rate}")
        subtotals[rate] = subtotals.get(rate, 0) + int(amount)
    return {
        rate: RateTotal(rate=rate, subtotal=subtotals[rate], tax=tax_for(subtotals[rate], rate))
        for rate in sorted(subtotals, reverse=True)
    }
