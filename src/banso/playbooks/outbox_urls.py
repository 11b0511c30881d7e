"""Addresses of the outbox pages (under /playbooks/outbox/, in the `playbooks` namespace). The unsubscribe page
is public: its signed link is in tech-touch mail (core.middleware lists it among the public paths)."""

from django.urls import URLPattern, path

from . import outbox_views as views

urlpatterns: list[URLPattern] = [
    path("", views.outbox_list, name="outbox"),
    path("<int:pk>/", views.outbox_detail, name="outbox_message"),
    path("<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="outbox_unsubscribe"),
]
