"""Public newsletter links (no sign-in): open pixel, click redirect, unsubscribe — signed tokens."""

from django.urls import path

from . import newsletter_views

urlpatterns: list = []
