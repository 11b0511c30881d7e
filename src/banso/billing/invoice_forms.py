"""The billing settings form: the operator's details printed on every invoice, validated the same way for the
page and the API (both go through invoicing.update_billing_settings)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import BillingSettings
from .tax import validate_registration_number

SETTINGS_FIELDS = [
    "issuer_name",
    "registration_number",
    "address",
    "phone",
    "bank_account",
    "invoice_prefix",
    "credit_note_prefix",
    "default_commission_rate",
    "default_payment_fee_rate",
    "payment_terms_days",
    "repeat_window_days",
    "fiscal_year_start_month",
]
PREFIX = re.compile(r"^[A-Za-z0-9]{1,10}$")


class BillingSettingsForm(forms.ModelForm[BillingSettings]):
    # Longer than the stored 14 characters: people type spaces, hyphens and full-width digits, normalised below.
    registration_number = forms.CharField(max_length=40, required=False)

    class Meta:
        model = BillingSettings
        fields = SETTINGS_FIELDS

    def clean_issuer_name(self) -> str:
        name = (self.cleaned_data.get("issuer_name") or "").strip()
        if not name:
            raise ValidationError(_("Enter the issuer name printed on invoices."), code="required")
        return name

    def clean_registration_number(self) -> str:
        value = (self.cleaned_data.get("registration_number") or "").strip()
        return validate_registration_number(value) if value else ""

    def _prefix(self, name: str) -> str:
        value = (self.cleaned_data.get(name) or "").strip()
        if not PREFIX.match(value):
            raise ValidationError(
                _("A number prefix is 1 to 10 letters or digits (A–Z, 0–9)."), code="invalid", params={"value": value}
            )
        return value

    def clean_invoice_prefix(self) -> str:
        return self._prefix("invoice_prefix")

    def clean_credit_note_prefix(self) -> str:
        return self._prefix("credit_note_prefix")

    def clean_repeat_window_days(self) -> int:
        days = self.cleaned_data.get("repeat_window_days")
        if days is not None and not 1 <= days <= 3650:
            raise ValidationError(_("The repeat window is 1 to 3650 days."), code="range")
        return days  # type: ignore[return-value]

    def clean_payment_terms_days(self) -> int:
        days = self.cleaned_data.get("payment_terms_days")
        if days is not None and days > 365:
            raise ValidationError(_("Payment terms are at most 365 days."), code="range")
        return days  # type: ignore[return-value]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("invoice_prefix") and data.get("invoice_prefix") == data.get("credit_note_prefix"):
            self.add_error(
                "credit_note_prefix", _("Credit notes need a prefix of their own, different from invoices'.")
            )
        return data
