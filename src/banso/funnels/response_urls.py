"""Addresses of the first-response pages (under /funnels/responses/, in the `funnels` namespace)."""

from django.urls import URLPattern, path

from . import response_views as views

urlpatterns: list[URLPattern] = [
    path("", views.response_queue, name="responses"),
    path("rows/", views.response_queue_rows, name="response_rows"),
    path("<int:pk>/contacted/", views.response_contacted, name="response_contacted"),
    path("relation/", views.response_relation, name="response_relation"),
]
