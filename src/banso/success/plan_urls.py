"""Coverage plan pages under /success/plans/ (included into the success namespace)."""

from django.urls import path

from . import plan_views

urlpatterns = [
    path("", plan_views.plan_list, name="plans"),
    path("generate/", plan_views.plan_generate, name="plan_generate"),
    path("runs/<int:pk>/progress/", plan_views.plan_run_progress, name="plan_run_progress"),
    path("settings/", plan_views.plan_settings, name="plan_settings"),
    path("<int:pk>/", plan_views.plan_detail, name="plan"),
    path("<int:pk>/move/", plan_views.plan_move, name="plan_move"),
    path("<int:pk>/bulk/", plan_views.plan_bulk, name="plan_bulk"),
    path("<int:pk>/add/", plan_views.plan_add, name="plan_add"),
    path("<int:pk>/lock/", plan_views.plan_lock, name="plan_lock"),
]
