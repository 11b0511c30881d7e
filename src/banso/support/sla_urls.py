"""URLs of the support desk's SLA area (included by urls.py at /support/sla/)."""

from django.urls import URLPattern, URLResolver, path

from . import settings_views, sla_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", sla_views.sla_report, name="sla_report"),
    path("attainment.xlsx", sla_views.sla_report_xlsx, name="sla_report_xlsx"),
    path("settings/", settings_views.desk_settings, name="desk_settings"),
]
