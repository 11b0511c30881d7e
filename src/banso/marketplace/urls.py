from django.urls import include, path

from . import bookings_urls, concierge_urls, incidents_urls, providers_urls, rules_urls, views

app_name = "marketplace"
urlpatterns = [
    path("", views.index, name="index"),
    path("bookings/", include(bookings_urls.urlpatterns)),
    path("providers/", include(providers_urls.urlpatterns)),
    path("incidents/", include(incidents_urls.urlpatterns)),
    path("rules/", include(rules_urls.urlpatterns)),
    path("concierge/", include(concierge_urls.urlpatterns)),
]
