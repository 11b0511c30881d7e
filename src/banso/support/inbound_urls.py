"""Public URLs of the support desk's inbound area (no sign-in; included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import inbound_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("email", inbound_views.inbound_email, name="inbound_email"),
]
