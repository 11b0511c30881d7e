from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list, name="list"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/timeline/", views.account_timeline, name="timeline"),
    path("<int:pk>/edit/", views.account_edit, name="edit"),
    path("<int:pk>/audit/", views.account_audit, name="audit"),
]
