from django.urls import include, path

from . import risk_urls, views

app_name = "churn"
urlpatterns = [
    path("", views.index, name="index"),
    path("analysis/", views.analysis_page, name="analysis"),
    path("analysis/export/", views.analysis_export, name="analysis_export"),
    path("records/", views.record_list, name="records"),
    path("records/new/", views.record_create, name="record_create"),
    path("records/<int:pk>/edit/", views.record_edit, name="record_edit"),
    path("records/<int:pk>/delete/", views.record_delete, name="record_delete"),
    path("reasons/", views.reason_list, name="reasons"),
    path("reasons/new/", views.reason_create, name="reason_create"),
    path("reasons/<int:pk>/edit/", views.reason_edit, name="reason_edit"),
    path("risk/", include(risk_urls)),
]
