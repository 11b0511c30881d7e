"""Websocket URLs of the support desk (mounted by banso.asgi). Staff sockets need a signed-in session from
this site (same-host Origin); the widget's socket is public, checked by its token and allowed origins."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, path

from . import consumers

websocket_urlpatterns: list[URLPattern] = [
    path("ws/support/inbox/", AllowedHostsOriginValidator(AuthMiddlewareStack(consumers.InboxConsumer.as_asgi()))),
    path(
        "ws/support/inquiry/<int:number>/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(consumers.InquiryConsumer.as_asgi())),
    ),
    path("ws/support/widget/<str:token>/", consumers.WidgetConsumer.as_asgi()),
]
