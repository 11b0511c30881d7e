"""The support desk's kb JSON API (mounted by api.py)."""

from ninja import Router

router = Router()
