"""URLs of the marketplace's incidents area (included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import incidents_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.incident_list, name="incidents"),
    path("new/", views.incident_new, name="incident_new"),
    path("<str:number>/", views.incident_detail, name="incident"),
    path("<str:number>/confirm/", views.incident_confirm, name="incident_confirm"),
    path("<str:number>/dismiss/", views.incident_dismiss, name="incident_dismiss"),
    path("<str:number>/reopen/", views.incident_reopen, name="incident_reopen"),
]
