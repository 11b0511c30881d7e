"""URLs of the campaigns' conversions area (included by urls.py under conversions/)."""

from django.urls import URLPattern, URLResolver, path

from . import conversions_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.conversion_list, name="conversions"),
    path("reconcile/", views.reconcile_month, name="reconcile"),
    path("reconcile/<int:pk>/", views.reconcile_offer, name="reconcile_offer"),
    path("cashback/", views.cashback, name="cashback"),
    path("cashback.xlsx", views.cashback_xlsx, name="cashback_xlsx"),
    path("cashback.csv", views.cashback_csv, name="cashback_csv"),
    path("cashback/paid/", views.cashback_paid, name="cashback_paid"),
]
