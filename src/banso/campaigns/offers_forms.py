"""Forms of the offers area: they gather and lay out the input; the checks are the services' (offers.save_offer,
rates.save_rate), so a page, the API and the command line refuse the same things."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.core.models import User

from .models import Asp, OfferCategory, OfferStatus, RewardType

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def service_errors(form: forms.Form, field: str, message: str) -> None:
    """Show a service's refusal on its field (or on the form when the field is not on it)."""
    form.add_error(field if field in form.fields else None, message)


class OfferForm(forms.Form):
    advertiser = forms.ModelChoiceField(
        label=_("Advertiser"),
        queryset=Account.objects.filter(kind=AccountKind.ADVERTISER).order_by("name_kana", "name"),
    )
    asp = forms.ModelChoiceField(label=_("ASP"), queryset=Asp.objects.all())
    asp_offer_id = forms.CharField(label=_("Program id at the ASP"), max_length=100)
    name = forms.CharField(label=_("Offer name"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=OfferCategory.choices)
    landing_url = forms.CharField(label=_("Landing page"), max_length=1000, required=False)
    conditions = forms.CharField(label=_("Conditions"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    base_reward_type = forms.ChoiceField(label=_("Reward type"), choices=RewardType.choices)
    base_rate = forms.CharField(label=_("Base rate (%)"), max_length=10, required=False)
    base_amount = forms.CharField(label=_("Base reward (yen)"), max_length=20, required=False)
    cashback_share = forms.CharField(label=_("Cashback share (%)"), max_length=10, initial="50")
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True).order_by("username"), required=False
    )

    def offer_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class OfferFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *OfferStatus.choices], required=False)
    category = forms.ChoiceField(label=_("Category"), choices=[("", _("All")), *OfferCategory.choices], required=False)
    asp = forms.ChoiceField(label=_("ASP"), required=False)
    advertiser = forms.CharField(label=_("Advertiser id"), max_length=20, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["asp"].choices = [("", _("All")), *Asp.objects.values_list("code", "name")]  # type: ignore[attr-defined]


class RateForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("Starts at (Tokyo)"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=_("Ends at (Tokyo, exclusive: 00:00 of the next day)"), widget=DATETIME)
    reward_type = forms.ChoiceField(label=_("Reward type"), choices=RewardType.choices)
    rate = forms.CharField(label=_("Special rate (%)"), max_length=10, required=False)
    amount = forms.CharField(label=_("Special reward (yen)"), max_length=20, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class AspForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)
    report_format = forms.CharField(label=_("Report format"), max_length=30, initial="standard", required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
