from django.urls import path

from . import newsletter_views

urlpatterns: list = []
