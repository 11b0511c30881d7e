"""The marketplace module's JSON API: bookings and providers, incidents, threshold rules and their firings,
the concierge's provider search."""

from ninja import Router

from .bookings_api import router as bookings_router
from .concierge_api import router as concierge_router
from .incidents_api import router as incidents_router
from .providers_api import router as providers_router
from .rules_api import router as rules_router

router = Router(tags=["marketplace"])
router.add_router("/providers", providers_router)
router.add_router("/incidents", incidents_router)
router.add_router("/rules", rules_router)
router.add_router("/concierge", concierge_router)
router.add_router("", bookings_router)
