"""Churn-risk pages, included under /churn/risk/ by churn/urls.py (names in the `churn` namespace)."""

from django.urls import path

from . import risk_views

urlpatterns = [
    path("", risk_views.risk_home, name="risk"),
    path("models/<int:pk>/", risk_views.model_detail, name="risk_model"),
    path("accounts/", risk_views.accounts, name="risk_accounts"),
    path("runs/<str:kind>/start/", risk_views.run_start, name="risk_run_start"),
    path("runs/<int:pk>/", risk_views.run_detail, name="risk_run"),
    path("runs/<int:pk>/progress/", risk_views.run_progress, name="risk_run_progress"),
]
