"""The rule form: every field of a threshold rule; the cross-field checks are the service's (rules.check_rule),
so the form, the API and the command line refuse the same things."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import rules
from .models import FiringStatus, IncidentType, Rule


class RuleForm(forms.ModelForm[Rule]):
    incident_types = forms.MultipleChoiceField(
        label=_("Incident types (none chosen: all types)"),
        choices=IncidentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Rule
        fields = list(rules.RULE_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        probe = Rule(**{name: data.get(name, getattr(self.instance, name)) for name in rules.RULE_FIELDS})
        try:
            rules.check_rule(probe)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        return data

    def rule_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in rules.RULE_FIELDS}


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note (required to reject)"), max_length=300, required=False)


class FiringFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *FiringStatus.choices], required=False)
    rule = forms.ModelChoiceField(label=_("Rule"), queryset=Rule.objects.all(), required=False, empty_label=_("All"))
    provider = forms.CharField(label=_("Provider (name or id)"), max_length=200, required=False)
