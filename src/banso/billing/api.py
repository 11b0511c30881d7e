"""The billing module's JSON API: month close, statements and invoices, reports, reconciliation,
newsletters, and the merchant portal's own documents."""

from ninja import Router

from .close_api import router as close_router
from .invoice_api import router as invoice_router
from .newsletter_api import router as newsletter_router
from .portal_api import router as portal_router
from .recon_api import router as recon_router
from .report_api import router as report_router

router = Router(tags=["billing"])
router.add_router("/reports", report_router)
router.add_router("/reconciliation", recon_router)
router.add_router("/newsletters", newsletter_router)
router.add_router("/portal", portal_router)
router.add_router("/invoices", invoice_router)
router.add_router("", close_router)
