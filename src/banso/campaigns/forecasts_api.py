"""The forecasts part of the campaigns API (mounted under /api/campaigns/forecasts)."""

from ninja import Router

router = Router(tags=["campaigns"])
