from django.urls import include, path

from . import funnel_urls, report_urls, response_urls, staleness_urls, views

app_name = "funnels"
urlpatterns = [
    path("", views.index, name="index"),
    path("staleness/", include(staleness_urls.urlpatterns)),
    path("responses/", include(response_urls.urlpatterns)),
    path("reports/", include(report_urls.urlpatterns)),
    path("", include(funnel_urls.urlpatterns)),
]
