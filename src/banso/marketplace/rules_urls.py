"""URLs of the marketplace's rules area (included by urls.py under /marketplace/rules/)."""

from django.urls import URLPattern, URLResolver, path

from . import rules_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", rules_views.rule_list, name="rules"),
    path("new/", rules_views.rule_new, name="rule_new"),
    path("<int:pk>/", rules_views.rule_edit, name="rule_edit"),
    path("firings/", rules_views.firing_list, name="firings"),
    path("firings/<int:pk>/", rules_views.firing_detail, name="firing"),
    path("firings/<int:pk>/approve/", rules_views.firing_decide, {"decision": "approve"}, name="firing_approve"),
    path("firings/<int:pk>/reject/", rules_views.firing_decide, {"decision": "reject"}, name="firing_reject"),
    path("evaluate/", rules_views.evaluate, name="evaluate"),
    path("evaluations/<int:pk>/", rules_views.evaluation, name="evaluation"),
    path("evaluations/<int:pk>/progress/", rules_views.evaluation_progress, name="evaluation_progress"),
]
