"""Public newsletter links (no sign-in, mounted at /n/, namespace "newsletter_public"): the open pixel and the
click redirect, both keyed by the delivery's random token (core.middleware lists /n/ as public)."""

from django.urls import URLPattern, path

from . import newsletter_views

urlpatterns: list[URLPattern] = [
    path("o/<str:token>.gif", newsletter_views.open_pixel, name="open"),
    path("c/<str:token>/<int:n>", newsletter_views.click, name="click"),
]
