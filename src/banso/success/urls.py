from django.urls import path

from . import views

app_name = "success"
urlpatterns = [
    path("", views.index, name="index"),
]
