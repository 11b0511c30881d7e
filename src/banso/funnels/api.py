"""The funnels module's JSON API: funnel definitions and client funnels, staleness, first response, reports."""

from ninja import Router

from .funnel_api import router as funnel_router
from .report_api import router as report_router
from .response_api import router as response_router
from .staleness_api import router as staleness_router

router = Router(tags=["funnels"])
router.add_router("/staleness", staleness_router)
router.add_router("/responses", response_router)
router.add_router("/reports", report_router)
router.add_router("", funnel_router)
