"""Yen amounts: integers, never floats. Parsing refuses fractions and formats follow Japanese usage."""

from decimal import Decimal, InvalidOperation


class InvalidYen(ValueError):
    pass


def parse_yen(raw: str | int, *, allow_negative: bool = False) -> int:
    """'12,000', '¥12000', '12000円' → 12000. Fractions and (unless allowed) negatives are refused."""
    if isinstance(raw, bool):
        raise InvalidYen("not an amount")
    if isinstance(raw, int):
        value = Decimal(raw)
    else:
        text = str(raw).strip().replace(",", "").replace("¥", "").replace("￥", "").removesuffix("円")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise InvalidYen("not a number") from exc
    if value != value.to_integral_value():
        raise InvalidYen("yen has no fractions")
    if value < 0 and not allow_negative:
        raise InvalidYen("must not be negative")
    return int(value)


def format_yen(amount: int | None) -> str:
    if amount is None:
        return ""
    return f"¥{amount:,}"
