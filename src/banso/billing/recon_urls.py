from django.urls import path

from . import recon_views

urlpatterns: list = []
