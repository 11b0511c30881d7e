"""The new-forecast form: period, proposed reward (rate or yen) and the promotion items."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RewardType
from .proposals import PROMOTION_MENU


class ForecastForm(forms.Form):
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    reward_type = forms.ChoiceField(label=_("Proposed reward type"), choices=RewardType.choices)
    rate = forms.DecimalField(label=_("Proposed rate in percent"), required=False, max_digits=5, decimal_places=2)
    amount = forms.IntegerField(label=_("Proposed reward (yen)"), required=False, min_value=1)
    promotions = forms.MultipleChoiceField(
        label=_("Promotion menu"),
        required=False,
        choices=[(key, name) for key, (name, _text) in PROMOTION_MENU.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reward_type") == RewardType.RATE and data.get("rate") is None:
            self.add_error("rate", _("Give the proposed rate in percent."))
        if data.get("reward_type") == RewardType.FIXED and data.get("amount") is None:
            self.add_error("amount", _("Give the proposed reward in yen."))
        return data
