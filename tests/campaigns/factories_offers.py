"""Offers in each status and special-rate periods for the offers/rates/calendar tests."""

import datetime as dt
from decimal import Decimal

from banso.campaigns.models import Offer, OfferStatus, RewardType, SpecialRate

from .factories import OfferFactory, SpecialRateFactory, tokyo


def fixed_offer(amount: int = 1500, **kwargs) -> Offer:
    """A card offer paying a fixed 1,500円 per acquisition."""
    return OfferFactory(
        base_reward_type=RewardType.FIXED,
        base_rate=None,
        base_amount=amount,
        reward_type=RewardType.FIXED,
        reward_rate=None,
        reward_amount=amount,
        category="card",
        **kwargs,
    )


def draft_offer(**kwargs) -> Offer:
    """An offer whose partnership was just approved: nothing on its checklist yet."""
    kwargs.setdefault("checklist", {})
    kwargs.setdefault("status", OfferStatus.APPROVED)
    return OfferFactory(**kwargs)


def month_rate(offer: Offer, year: int, month: int, rate: str | None = "10.00", **kwargs) -> SpecialRate:
    """A special rate for one whole Tokyo month: [00:00 on the 1st, 00:00 on the next 1st)."""
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return SpecialRateFactory(
        offer=offer,
        starts_at=tokyo(year, month, 1),
        ends_at=tokyo(following.year, following.month, 1),
        rate=Decimal(rate) if rate is not None else None,
        **kwargs,
    )
