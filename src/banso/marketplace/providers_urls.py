"""URLs of the marketplace's providers area (included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import providers_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.provider_list, name="providers"),
    path("<int:pk>/", views.provider_detail, name="provider"),
    path("<int:pk>/status/", views.provider_status, name="provider_status"),
]
