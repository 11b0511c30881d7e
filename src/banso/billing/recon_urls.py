"""Addresses of the reconciliation pages (under /billing/reconciliation/, namespace "billing")."""

from django.urls import URLPattern, path

from . import recon_views as views

urlpatterns: list[URLPattern] = [
    path("", views.summary, name="recon"),
    path("items/", views.item_list, name="recon_items"),
    path("items/<int:pk>/", views.item_detail, name="recon_item"),
    path("items/<int:pk>/resolve/", views.item_resolve, name="recon_resolve"),
    path("match/", views.run_match, name="recon_match"),
    path("imports/", views.imports, name="recon_imports"),
]
