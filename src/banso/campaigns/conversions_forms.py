"""Forms of the conversions area: the list's filters and the cashback-paid confirmation."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .conversions import ConversionFilter, parse_month
from .models import Asp, ConversionStatus, Offer


class MonthField(forms.CharField):
    """YYYY-MM (Tokyo month) → its first day."""

    def to_python(self, value: object) -> dt.date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        month = parse_month(text)
        if month is None:
            raise forms.ValidationError(_("Write the month as YYYY-MM."), code="month")
        return month


class ConversionFilterForm(forms.Form):
    offer = forms.ModelChoiceField(
        label=pgettext_lazy("affiliate", "Offer"),
        queryset=Offer.objects.order_by("name", "id"),
        required=False,
        empty_label=_("All"),
    )
    asp = forms.ChoiceField(label=_("ASP"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *ConversionStatus.choices])
    month = MonthField(label=_("Month (YYYY-MM)"), required=False)
    user = forms.CharField(label=_("User id"), required=False, max_length=100)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        asp_field = self.fields["asp"]
        assert isinstance(asp_field, forms.ChoiceField)
        asp_field.choices = [("", _("All")), *Asp.objects.values_list("code", "name")]

    def filters(self) -> ConversionFilter:
        data = self.cleaned_data
        return ConversionFilter(
            offer=data["offer"].pk if data.get("offer") else None,
            asp=data.get("asp") or "",
            status=data.get("status") or "",
            month=data.get("month"),
            user=(data.get("user") or "").strip(),
        )


class CashbackPaidForm(forms.Form):
    """Mark every approved, unpaid result of one user (within the page's month/offer filter) as paid."""

    end_user = forms.IntegerField(widget=forms.HiddenInput)
    month = MonthField(required=False, widget=forms.HiddenInput)
    offer = forms.IntegerField(required=False, widget=forms.HiddenInput)
