from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.index, name="index"),
    path("runs/", views.runs_table, name="runs"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("metrics/", views.metric_list, name="metrics"),
    path("metrics/new/", views.metric_create, name="metric_create"),
    path("metrics/<slug:key>/edit/", views.metric_edit, name="metric_edit"),
    path("metrics/<slug:key>/active/", views.metric_active, name="metric_active"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_create, name="segment_create"),
    path("segments/rule-row/", views.segment_rule_row, name="segment_rule_row"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/refresh/", views.segment_refresh, name="segment_refresh"),
]
