"""Addresses of My day, touches and renewals, included into the `success` namespace by success/urls.py."""

from django.urls import path

from . import touch_views as views

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("touches/", views.touch_list, name="touches"),
    path("touches/quick/", views.touch_quick, name="touch_quick"),
    path("touches/bulk/", views.touch_bulk, name="touch_bulk"),
    path("touches/<int:pk>/", views.touch_detail, name="touch"),
    path("touches/<int:pk>/done/", views.touch_done, name="touch_done"),
    path("accounts/<int:account_id>/touches/", views.touch_create, name="touch_create"),
    path("accounts/<int:account_id>/touches/form/", views.touch_form, name="touch_form"),
    path("renewals/", views.renewal_pipeline, name="renewals"),
    path("renewals/<int:pk>/stage/", views.renewal_stage, name="renewal_stage"),
]
