"""The support desk's analytics JSON API (mounted by api.py)."""

from ninja import Router

router = Router()
