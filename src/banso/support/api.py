"""The support module's JSON API: inquiries and the inbox, SLA, knowledge base, chat and email channels,
classification and analytics."""

from ninja import Router

from .analytics_api import router as analytics_router
from .chat_api import router as chat_router
from .inbox_api import router as inbox_router
from .kb_api import router as kb_router
from .sla_api import router as sla_router

router = Router(tags=["support"])
router.add_router("/sla", sla_router)
router.add_router("/kb", kb_router)
router.add_router("/analytics", analytics_router)
router.add_router("/chat", chat_router)
router.add_router("", inbox_router)
