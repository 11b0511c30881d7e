from django.urls import path

from . import views

app_name = "activity"
urlpatterns = [
    path("", views.import_list, name="imports"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("<int:pk>/errors.csv", views.job_errors_csv, name="job_errors"),
]
