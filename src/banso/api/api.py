"""The public JSON API (django-ninja); OpenAPI at /api/openapi.json, docs at /api/docs."""

from ninja import NinjaAPI

from banso.accounts.api import router as accounts_router
from banso.activity.api import router as activity_router

api = NinjaAPI(title="Banso API", version="1", urls_namespace="api")
api.add_router("/accounts", accounts_router)
api.add_router("/imports", activity_router)
