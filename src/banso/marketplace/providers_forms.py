"""Forms of the providers pages: the list's filters and a status change."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ProviderStatus

SORT_CHOICES = [
    ("name", _("Name")),
    ("points", _("Incident points (90 days)")),
    ("rating", _("Rating")),
]


class ProviderFilterForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *ProviderStatus.choices])
    category = forms.CharField(label=_("Service category"), required=False, max_length=100)
    area = forms.CharField(label=_("Area"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=ProviderStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
