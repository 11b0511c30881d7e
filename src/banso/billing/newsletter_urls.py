"""Newsletter pages under /billing/newsletters/ (namespace "billing")."""

from django.urls import URLPattern, path

from . import newsletter_views as views

urlpatterns: list[URLPattern] = [
    path("", views.newsletter_list, name="newsletters"),
    path("new/", views.newsletter_new, name="newsletter_new"),
    path("<int:pk>/", views.newsletter_detail, name="newsletter"),
    path("<int:pk>/edit/", views.newsletter_edit, name="newsletter_edit"),
    path("<int:pk>/preview/", views.newsletter_preview, name="newsletter_preview"),
    path("<int:pk>/test/", views.newsletter_test, name="newsletter_test"),
    path("<int:pk>/schedule/", views.newsletter_schedule, name="newsletter_schedule"),
    path("<int:pk>/cancel/", views.newsletter_cancel, name="newsletter_cancel"),
]
