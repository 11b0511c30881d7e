"""Addresses of the trigger evaluation pages (under /playbooks/triggers/, in the `playbooks` namespace)."""

from django.urls import URLPattern, path

from . import trigger_views as views

urlpatterns: list[URLPattern] = [
    path("", views.trigger_runs, name="triggers"),
    path("evaluate/", views.trigger_evaluate, name="trigger_evaluate"),
    path("<int:pk>/", views.trigger_run, name="trigger_run"),
    path("<int:pk>/progress/", views.trigger_run_progress, name="trigger_run_progress"),
]
