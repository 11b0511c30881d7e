"""Forms of the concierge page: the request (prefilled from the inquiry, editable) and the handover."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .concierge import MAX_GUESTS


class RequestForm(forms.Form):
    inquiry = forms.IntegerField(widget=forms.HiddenInput, required=False)
    category = forms.CharField(label=_("Service category"), max_length=100)
    area = forms.CharField(label=_("Area"), max_length=100)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    guests = forms.IntegerField(label=_("Guests"), min_value=1, max_value=MAX_GUESTS, initial=1)

    def __init__(self, *args: object, categories: list[str] = (), areas: list[str] = (), **kwargs: object) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Suggestions from what providers serve; any text is accepted.
        self.fields["category"].widget.attrs["list"] = "concierge-categories"
        self.fields["area"].widget.attrs["list"] = "concierge-areas"
        self.categories = list(categories)
        self.areas = list(areas)


class HandoverForm(forms.Form):
    inquiry = forms.IntegerField(min_value=1)
    provider = forms.IntegerField(min_value=1)
    category = forms.CharField(max_length=100, required=False)
    date = forms.DateField(required=False)
