from django.urls import URLPattern, path

from . import funnel_views

urlpatterns: list[URLPattern] = [
    path("clients/", funnel_views.clients, name="clients"),
    path("clients/export.<str:fmt>", funnel_views.clients_export, name="clients_export"),
    path("clients/<int:account_id>/", funnel_views.client_detail, name="client"),
    path("recompute/", funnel_views.recompute, name="recompute"),
    path("runs/<int:pk>/", funnel_views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", funnel_views.run_progress, name="run_progress"),
    path("settings/", funnel_views.funnel_settings, name="settings"),
    path("settings/new/", funnel_views.funnel_new, name="new"),
    path("settings/<int:pk>/", funnel_views.funnel_settings, name="settings_of"),
]
