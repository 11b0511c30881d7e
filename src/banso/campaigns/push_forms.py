"""Forms of the push area: a campaign (an existing end-user segment, or the common one built inline)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.analytics.models import Segment

from .models import Channel, Offer

TOKYO = ZoneInfo("Asia/Tokyo")


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.filter(subject_type="end_user"), required=False
    )
    advertiser = forms.ModelChoiceField(
        label=_("Or: visited this advertiser's site"),
        queryset=Account.objects.filter(kind=AccountKind.ADVERTISER),
        required=False,
    )
    from_days = forms.IntegerField(label=_("From (days ago)"), min_value=0, max_value=365, initial=3, required=False)
    to_days = forms.IntegerField(label=_("To (days ago)"), min_value=0, max_value=365, initial=7, required=False)
    offer = forms.ModelChoiceField(
        label=pgettext_lazy("affiliate", "Offer"), queryset=Offer.objects.all(), required=False
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.WEB_PUSH)
    title = forms.CharField(label=_("Title"), max_length=100)
    body = forms.CharField(label=_("Body"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    url = forms.URLField(
        label=pgettext_lazy("push campaign", "Link"), max_length=1000, required=False, assume_scheme="https"
    )
    webhook_url = forms.URLField(label=_("Webhook URL"), max_length=1000, required=False, assume_scheme="https")
    attribution_days = forms.IntegerField(label=_("Attribution window (days)"), min_value=1, max_value=90, initial=7)
    scheduled_at = forms.DateTimeField(
        label=_("Send at (Tokyo)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean_scheduled_at(self) -> dt.datetime | None:
        value: dt.datetime | None = self.cleaned_data.get("scheduled_at")
        if value is None:
            return None
        naive = value.replace(tzinfo=None) if value.tzinfo else value
        return naive.replace(tzinfo=TOKYO)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("segment") and not data.get("advertiser"):
            self.add_error("segment", _("Choose a segment, or an advertiser whose visitors to reach."))
        if data.get("advertiser") and not data.get("segment"):
            low, high = data.get("from_days"), data.get("to_days")
            if low is None or high is None or high < low:
                self.add_error("to_days", _("Give a range of days ago: from ≤ to."))
        return data
