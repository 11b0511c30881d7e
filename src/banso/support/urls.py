from django.urls import include, path

from . import analytics_urls, chat_urls, inbox_urls, kb_urls, sla_urls, views

app_name = "support"
urlpatterns = [
    path("", views.index, name="index"),
    path("sla/", include(sla_urls.urlpatterns)),
    path("kb/", include(kb_urls.urlpatterns)),
    path("analytics/", include(analytics_urls.urlpatterns)),
    path("chat/", include(chat_urls.urlpatterns)),
    path("", include(inbox_urls.urlpatterns)),
]
