"""The conversions part of the campaigns API (mounted under /api/campaigns/conversions)."""

from ninja import Router

router = Router(tags=["campaigns"])
