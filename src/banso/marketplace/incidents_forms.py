"""Forms of the incidents pages: the list's filters, a new incident, dismissing one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import IncidentStatus, IncidentType, Severity


def _blank(choices: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", _("All")), *choices]


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(IncidentStatus.choices))
    type = forms.ChoiceField(label=_("Type"), required=False, choices=_blank(IncidentType.choices))
    severity = forms.TypedChoiceField(
        label=_("Severity"), required=False, coerce=int, empty_value=None, choices=_blank(Severity.choices)
    )
    provider = forms.IntegerField(label=_("Provider (account id)"), required=False, min_value=1)
    start = forms.DateField(label=_("Occurred from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Occurred to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date is before the start date."))
        return data


class IncidentForm(forms.Form):
    provider = forms.IntegerField(
        label=_("Provider (account id)"), min_value=1, widget=forms.NumberInput(attrs={"list": "providers"})
    )
    type = forms.ChoiceField(label=_("Type"), choices=IncidentType.choices)
    severity = forms.TypedChoiceField(
        label=_("Severity"), coerce=int, choices=Severity.choices, initial=Severity.MEDIUM
    )
    occurred_at = forms.DateTimeField(
        label=_("Occurred at (Japan time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    summary = forms.CharField(label=_("Summary"), max_length=300)
    evidence = forms.CharField(
        label=_("Evidence (what was seen, messages, photos' locations)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    booking = forms.IntegerField(label=_("Booking (id)"), required=False, min_value=1)
    inquiry = forms.IntegerField(label=_("Inquiry number"), required=False, min_value=1)
    confirmed = forms.BooleanField(label=_("Record as confirmed"), required=False)

    def __init__(self, *args: object, can_confirm: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not can_confirm:
            del self.fields["confirmed"]


class DismissForm(forms.Form):
    reason = forms.CharField(label=_("Reason for dismissing"), max_length=300)
