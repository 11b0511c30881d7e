from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "banso.api"
    label = "api"
    verbose_name = "API"
