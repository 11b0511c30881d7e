"""Public URLs of the support desk's widget area (no sign-in; included by urls.py)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
