from django.urls import include, path

from . import (
    analytics_urls,
    chat_urls,
    help_urls,
    inbound_urls,
    inbox_urls,
    kb_urls,
    sla_urls,
    views,
    widget_urls,
)

app_name = "support"
urlpatterns = [
    path("", views.index, name="index"),
    path("sla/", include(sla_urls.urlpatterns)),
    path("kb/", include(kb_urls.urlpatterns)),
    path("analytics/", include(analytics_urls.urlpatterns)),
    path("chat/", include(chat_urls.urlpatterns)),
    # Public by design (customers, other sites, mail providers): the help centre, the chat widget, inbound mail.
    path("help/", include(help_urls.urlpatterns)),
    path("widget/", include(widget_urls.urlpatterns)),
    path("inbound/", include(inbound_urls.urlpatterns)),
    path("", include(inbox_urls.urlpatterns)),
]
