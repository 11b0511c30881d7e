"""Forms for touches and renewals. They check types only; `touches.log_touch` and `renewals.set_stage` check
the rules and name the field they refuse, so the pages and the API are held to the same ones."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account, Contact
from banso.accounts.services import owner_choices
from banso.core.widgets import PlainSelect

from .models import RenewalStage, TouchChannel, TouchOutcome
from .touches import primary_contacts


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TouchForm(forms.Form):
    """One touch on one account; the successor fields matter only when the contact person changed."""

    channel = forms.ChoiceField(label=_("Channel"), choices=TouchChannel.choices, initial=TouchChannel.CALL)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=TouchOutcome.choices)
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for now."),
    )
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("(nobody in particular)")
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    successor = forms.ModelChoiceField(
        label=_("Successor on file"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("(a new person, entered below)"),
    )
    new_successor_name = forms.CharField(label=_("New successor's name"), max_length=200, required=False)
    new_successor_email = forms.EmailField(label=_("New successor's email"), required=False)
    new_successor_phone = forms.CharField(label=_("New successor's phone"), max_length=40, required=False)
    new_successor_title = forms.CharField(label=_("New successor's job title"), max_length=100, required=False)
    next_step = forms.CharField(
        label=_("Next step"),
        max_length=200,
        required=False,
        help_text=_("Left empty, the outcome's usual next step is filled in."),
    )
    next_step_due = forms.DateField(label=_("Next step due"), required=False, widget=_date())

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        primary = primary_contacts([account.pk]).get(account.pk)
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("contact", primary.pk if primary else None)
        super().__init__(*args, **kwargs)
        self.account = account
        current = Contact.objects.filter(account=account, left_on__isnull=True)
        for name in ("contact", "successor"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = current

    @property
    def contact_changed(self) -> bool:
        outcome = self.data.get(self.add_prefix("outcome")) if self.is_bound else self.initial.get("outcome")
        return outcome == TouchOutcome.CONTACT_CHANGED

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values as `log_touch` takes them."""
        data = self.cleaned_data
        new = {k: data.get(f"new_successor_{k}") or "" for k in ("name", "email", "phone", "title")}
        return {
            "channel": data["channel"],
            "outcome": data["outcome"],
            "occurred_at": data.get("occurred_at") or timezone.now(),
            "contact": data.get("contact"),
            "note": data.get("note") or "",
            "successor": data.get("successor"),
            "new_successor": new if any(new.values()) else None,
            "next_step": data.get("next_step") or "",
            "next_step_due": data.get("next_step_due"),
        }


class AccountIdsField(forms.Field):
    """Account ids ticked in a list (no option list of 100,000 accounts); the form checks they exist."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Choose at least one account."),
        "invalid": _("Choose accounts from the list."),
    }

    def to_python(self, value: Any) -> list[int]:
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc

    def validate(self, value: Any) -> None:
        if not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class BulkTouchForm(forms.Form):
    """The same touch for every chosen account (each account's primary contact)."""

    accounts = AccountIdsField(label=pgettext_lazy("bulk touch", "Accounts"))
    channel = forms.ChoiceField(label=_("Channel"), choices=TouchChannel.choices, initial=TouchChannel.EMAIL)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[c for c in TouchOutcome.choices if c[0] != TouchOutcome.CONTACT_CHANGED]
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    next_step_due = forms.DateField(label=_("Next step due"), required=False, widget=_date())

    def clean_accounts(self) -> list[Account]:
        ids = self.cleaned_data["accounts"]
        found = list(Account.objects.filter(pk__in=ids).order_by("name_kana", "id"))
        if len(found) != len(set(ids)):
            raise forms.ValidationError(_("Some of the chosen accounts no longer exist."))
        return found


class TouchFilterForm(forms.Form):
    csm = forms.ModelChoiceField(
        label=pgettext_lazy("touch", "By"),
        queryset=owner_choices(),
        required=False,
        empty_label=_("Everyone"),
        widget=PlainSelect,
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", _("All")), *TouchOutcome.choices], required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", _("All")), *TouchChannel.choices], required=False)
    since = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=_date())
    until = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=_date())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["csm"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = owner_choices()


class RenewalStageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=RenewalStage.choices)
    renewed_mrr = forms.IntegerField(
        label=_("Renewed MRR (yen)"),
        min_value=0,
        required=False,
        help_text=_("For upgraded or downgraded renewals: the MRR renewed at."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
