"""The support desk's sla JSON API (mounted by api.py)."""

from ninja import Router

router = Router()
