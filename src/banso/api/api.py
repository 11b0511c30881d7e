"""The public JSON API (django-ninja); OpenAPI at /api/openapi.json, docs at /api/docs."""

from django.contrib.auth.decorators import login_required
from ninja import NinjaAPI

from banso.accounts.api import router as accounts_router
from banso.activity.api import router as activity_router
from banso.analytics.api import router as analytics_router
from banso.billing.api import router as billing_router
from banso.campaigns.api import router as campaigns_router
from banso.churn.api import router as churn_router
from banso.funnels.api import router as funnels_router
from banso.health.api import router as health_router
from banso.marketplace.api import router as marketplace_router
from banso.playbooks.api import router as playbooks_router
from banso.success.api import router as success_router
from banso.support.api import router as support_router

api = NinjaAPI(
    title="Banso API",
    version="1",
    urls_namespace="api",
    description="Banso's JSON API. Authenticate with `Authorization: Bearer <token>` (issued in the admin or by "
    "`banso issue_token`) or a signed-in browser session with its CSRF token.",
    docs_decorator=login_required,  # the schema is for signed-in people and integrations, not the public
)
api.add_router("/accounts", accounts_router)
api.add_router("/imports", activity_router)
api.add_router("/analytics", analytics_router)
api.add_router("/health", health_router)
api.add_router("/churn", churn_router)
api.add_router("/success", success_router)
api.add_router("/playbooks", playbooks_router)
api.add_router("/funnels", funnels_router)
api.add_router("/marketplace", marketplace_router)
api.add_router("/billing", billing_router)
api.add_router("/support", support_router)
api.add_router("/campaigns", campaigns_router)
