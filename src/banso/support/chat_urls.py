"""URLs of the support desk's chat area (included by urls.py under /support/chat/)."""

from django.urls import URLPattern, URLResolver, path

from . import chat_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", chat_views.session_list, name="chat_sessions"),
    path("<int:pk>/", chat_views.session_detail, name="chat_session"),
    path("settings/", chat_views.channel_settings, name="chat_settings"),
]
