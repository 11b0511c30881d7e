"""URLs of the support desk's inbox area (included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import inbox_views

urlpatterns: list[URLPattern | URLResolver] = [path("inbox/", inbox_views.inbox, name="inbox")]
