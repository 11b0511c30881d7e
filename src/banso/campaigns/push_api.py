"""The push part of the campaigns API (mounted under /api/campaigns/push)."""

from ninja import Router

router = Router(tags=["campaigns"])
