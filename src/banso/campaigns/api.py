"""The campaigns module's JSON API: offers and special rates, ASP conversions, forecasts and proposals, push
campaigns."""

from ninja import Router

from .conversions_api import router as conversions_router
from .forecasts_api import router as forecasts_router
from .offers_api import router as offers_router
from .push_api import router as push_router

router = Router(tags=["campaigns"])
router.add_router("/offers", offers_router)
router.add_router("/conversions", conversions_router)
router.add_router("/forecasts", forecasts_router)
router.add_router("/push", push_router)
