"""The success module's JSON API: touches, renewals, coverage plans and KPIs, each from its own module."""

from ninja import Router

router = Router(tags=["success"])
