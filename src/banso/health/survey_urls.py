"""Survey URLs: the staff pages (under /health/surveys/, in the `health` namespace) and the public answer page
(`public_urlpatterns`, mounted at /survey/ by banso/urls.py and listed in the middleware's public paths)."""

from django.urls import path

from . import survey_views as views

urlpatterns = [
    path("", views.survey_list, name="surveys"),
    path("new/", views.survey_create, name="survey_create"),
    path("results/", views.results, name="survey_results"),
    path("<int:pk>/", views.survey_detail, name="survey"),
    path("<int:pk>/edit/", views.survey_edit, name="survey_edit"),
    path("<int:pk>/send/", views.survey_send, name="survey_send"),
    path("<int:pk>/test/", views.survey_test, name="survey_test"),
    path("waves/<int:pk>/", views.wave_detail, name="survey_wave"),
    path("waves/<int:pk>/progress/", views.wave_progress, name="survey_wave_progress"),
    path("waves/<int:pk>/resume/", views.wave_resume, name="survey_wave_resume"),
]

public_urlpatterns = [
    path("<str:token>/", views.answer, name="answer"),
]
