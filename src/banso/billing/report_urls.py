from django.urls import path

from . import report_views

urlpatterns: list = []
