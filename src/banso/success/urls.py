from django.urls import include, path

from . import kpi_urls, plan_urls, touch_urls, views

app_name = "success"
urlpatterns = [
    path("", views.index, name="index"),
    path("", include(touch_urls.urlpatterns)),
    path("kpis/", include(kpi_urls.urlpatterns)),
    path("plans/", include(plan_urls.urlpatterns)),
]
