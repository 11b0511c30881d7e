from django.urls import include, path

from . import conversions_urls, forecasts_urls, offers_urls, push_urls, push_views, views

app_name = "campaigns"
urlpatterns = [
    path("", views.index, name="index"),
    path("offers/", include(offers_urls.urlpatterns)),
    path("conversions/", include(conversions_urls.urlpatterns)),
    path("forecasts/", include(forecasts_urls.urlpatterns)),
    path("push/", include(push_urls.urlpatterns)),
    # Public: the tracked click link of a push/email notification (push area).
    path("c/<str:token>", push_views.click, name="push_click"),
]
