"""URLs of the campaigns' push area (included by urls.py under push/; the public click link `c/<token>` is in
urls.py itself)."""

from django.urls import URLPattern, URLResolver, path

from . import push_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", push_views.campaigns, name="push_campaigns"),
    path("new/", push_views.new, name="push_new"),
    path("<int:pk>/", push_views.campaign, name="push_campaign"),
    path("<int:pk>/send/", push_views.send_now, name="push_send"),
    path("<int:pk>/schedule/", push_views.schedule, name="push_schedule"),
    path("<int:pk>/cancel/", push_views.cancel, name="push_cancel"),
    path("<int:pk>/preview/", push_views.preview, name="push_preview"),
    path("runs/<int:pk>/progress/", push_views.run_progress, name="push_run_progress"),
]
