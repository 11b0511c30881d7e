from django.urls import include, path

from . import conversions_urls, forecasts_urls, offers_urls, push_urls, views

app_name = "campaigns"
urlpatterns = [
    path("", views.index, name="index"),
    path("offers/", include(offers_urls.urlpatterns)),
    path("conversions/", include(conversions_urls.urlpatterns)),
    path("forecasts/", include(forecasts_urls.urlpatterns)),
    path("push/", include(push_urls.urlpatterns)),
]
