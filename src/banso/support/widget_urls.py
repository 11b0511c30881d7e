"""Public URLs of the support desk's widget area (no sign-in; included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import widget_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("sessions", widget_views.create_session, name="widget_sessions"),
    path("sessions/<str:token>/messages", widget_views.session_messages, name="widget_messages"),
    path("sessions/<str:token>/<str:action>", widget_views.session_action, name="widget_action"),
    path("form/", widget_views.inquiry_form, name="widget_form"),
]
