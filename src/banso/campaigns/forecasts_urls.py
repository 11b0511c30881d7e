"""URLs of the campaigns' forecasts area (included by urls.py under /campaigns/forecasts/)."""

from django.urls import URLPattern, URLResolver, path

from . import forecasts_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.forecast_list, name="forecasts"),
    path("new/", views.forecast_new, name="forecast_new"),
    path("<int:pk>/", views.forecast_detail, name="forecast"),
    path("<int:pk>/proposal.pdf", views.proposal_pdf, name="proposal_pdf"),
    path("<int:pk>/proposal.xlsx", views.proposal_xlsx, name="proposal_xlsx"),
    path("backtest/", views.backtest, name="backtest"),
    path("backtest/run/", views.backtest_start, name="backtest_start"),
    path("backtest/<int:pk>/", views.backtest_run, name="backtest_run"),
    path("backtest/<int:pk>/progress/", views.backtest_progress, name="backtest_progress"),
]
