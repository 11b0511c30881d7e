"""Forms of the bookings pages: the list's filters and the "refund done" action."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BookingStatus


class BookingFilterForm(forms.Form):
    """The list's filters as a GET form (the service validates the values: bookings.filter_bookings)."""

    provider = forms.CharField(label=_("Provider id"), required=False)
    member = forms.CharField(label=_("Member id"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *BookingStatus.choices])
    category = forms.CharField(label=_("Service category"), required=False)
    area = forms.CharField(label=_("Area"), required=False)
    from_ = forms.DateField(label=_("Scheduled from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    to = forms.DateField(label=_("Scheduled to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    refund_due = forms.ChoiceField(
        label=_("Refund"),
        required=False,
        choices=[("", _("All")), ("1", _("Refund due")), ("0", _("No refund due"))],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # "from" is a Python keyword: the field is from_ in code and "from" in the query string.
        self.fields["from"] = self.fields.pop("from_")
        self.order_fields(["provider", "member", "status", "category", "area", "from", "to", "refund_due"])


class RefundForm(forms.Form):
    amount = forms.IntegerField(label=_("Refunded amount (yen)"), min_value=1)
