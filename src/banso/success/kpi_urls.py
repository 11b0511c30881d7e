"""Team KPI pages, mounted at /success/kpis/ inside the `success` namespace."""

from django.urls import path

from . import kpi_views

urlpatterns = [
    path("", kpi_views.kpi_index, name="kpis"),
    path("me/", kpi_views.kpi_me, name="kpi_me"),
    path("people/<int:pk>/", kpi_views.kpi_person, name="kpi_person"),
    path("drill/<str:metric>/", kpi_views.kpi_drill, name="kpi_drill"),
    path("export/", kpi_views.kpi_export, name="kpi_export"),
]
