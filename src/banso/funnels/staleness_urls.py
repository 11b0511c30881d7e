"""Addresses of the staleness pages (under /funnels/staleness/, in the `funnels` namespace)."""

from django.urls import URLPattern, path

from . import staleness_views as views

urlpatterns: list[URLPattern] = [
    path("", views.board, name="staleness"),
    path("check/", views.check_now, name="staleness_check"),
    path("rules/", views.rules, name="staleness_rules"),
    path("rules/<int:pk>/", views.rule_edit, name="staleness_rule"),
]
