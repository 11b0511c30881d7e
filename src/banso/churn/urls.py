from django.urls import path

from . import views

app_name = "churn"
urlpatterns = [
    path("", views.index, name="index"),
]
