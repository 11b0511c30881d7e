from django.urls import path

from . import portal_views

urlpatterns: list = []
