"""The support desk's chat JSON API (mounted by api.py)."""

from ninja import Router

router = Router()
