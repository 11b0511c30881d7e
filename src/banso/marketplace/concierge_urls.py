"""URLs of the marketplace's concierge area (included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import concierge_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", concierge_views.concierge_page, name="concierge"),
    path("handover/", concierge_views.handover, name="concierge_handover"),
]
