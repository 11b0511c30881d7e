from django.urls import include, path

from . import outbox_urls, playbook_urls, task_urls, trigger_urls, views

app_name = "playbooks"
urlpatterns = [
    path("", views.index, name="index"),
    path("tasks/", include(task_urls.urlpatterns)),
    path("outbox/", include(outbox_urls.urlpatterns)),
    path("triggers/", include(trigger_urls.urlpatterns)),
    path("", include(playbook_urls.urlpatterns)),
]
