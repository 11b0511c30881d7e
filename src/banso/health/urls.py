from django.urls import include, path

from . import views

app_name = "health"
urlpatterns = [
    path("", views.index, name="index"),
    path("surveys/", include("banso.health.survey_urls")),
]
