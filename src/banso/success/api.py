"""The success module's JSON API: touches, renewals, coverage plans and KPIs, each from its own module."""

from ninja import Router

router = Router(tags=["success"])

from .touch_api import my_day_router, renewals_router, touches_router  # noqa: E402

router.add_router("/touches", touches_router)
router.add_router("/renewals", renewals_router)
router.add_router("/my-day", my_day_router)

from .plan_api import router as plans_router  # noqa: E402

router.add_router("/plans", plans_router)

from .kpi_api import router as kpis_router  # noqa: E402

router.add_router("/kpis", kpis_router)
