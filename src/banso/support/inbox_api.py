"""The support desk's inbox JSON API (mounted by api.py)."""

from ninja import Router

router = Router()
