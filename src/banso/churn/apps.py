from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChurnConfig(AppConfig):
    name = "banso.churn"
    label = "churn"
    verbose_name = _("Churn")
