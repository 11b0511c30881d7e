from django.urls import path

from . import close_views

urlpatterns: list = []
