from django.urls import include, path

from . import views

app_name = "health"
urlpatterns = [
    path("", views.index, name="index"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("scorecards/", views.scorecard_list, name="scorecards"),
    path("scorecards/new/", views.scorecard_create, name="scorecard_create"),
    path("scorecards/measure-row/", views.measure_row, name="measure_row"),
    path("scorecards/preview/", views.scorecard_preview, name="scorecard_preview"),
    path("scorecards/<int:pk>/", views.scorecard_detail, name="scorecard"),
    path("scorecards/<int:pk>/edit/", views.scorecard_edit, name="scorecard_edit"),
    path("accounts/<int:account_id>/", views.account_health, name="account"),
    path("surveys/", include("banso.health.survey_urls")),
]
