"""The offers part of the campaigns API (mounted under /api/campaigns/offers)."""

from ninja import Router

router = Router(tags=["campaigns"])
