"""The providers part of the marketplace API (mounted under /api/marketplace)."""

from ninja import Router

router = Router(tags=["marketplace"])
