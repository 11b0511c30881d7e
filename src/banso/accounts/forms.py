"""Forms for the account pages: the list's filters, and editing accounts, contacts and contracts."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.db import models
from django.forms.models import fields_for_model, model_to_dict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.core.widgets import PlainSelect

from .choices import AccountKind, LifecycleStage, TouchTier
from .models import Account, Contact, Contract
from .services import (
    CONTACT_EDITABLE_FIELDS,
    CONTRACT_EDITABLE_FIELDS,
    DEFAULT_SORT,
    NO_OWNER,
    SORTS,
    AccountFilters,
    current_colleagues,
    owner_choices,
    parse_month,
)


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ChoiceField(label=_("Owner CSM"), required=False, widget=PlainSelect)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(_("All kinds")) + AccountKind.choices)
    tier = forms.ChoiceField(label=_("Touch tier"), required=False, choices=_blank(_("All tiers")) + TouchTier.choices)
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=_blank(_("All stages")) + LifecycleStage.choices
    )
    renewal = forms.CharField(label=_("Renewal month"), required=False, widget=forms.DateInput(attrs={"type": "month"}))
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[(k, k) for k in SORTS])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        owner.choices = [
            ("", _("All owners")),
            (NO_OWNER, _("Unassigned")),
            *(
                (str(pk), display or username)
                for pk, display, username in owner_choices().values_list("pk", "display_name", "username")
            ),
        ]

    def clean_renewal(self) -> str:
        value: str = self.cleaned_data.get("renewal") or ""
        if value:
            try:
                parse_month(value)
            except ValueError as exc:
                raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from exc
        return value

    def filters(self) -> AccountFilters:
        """The filters the form holds; invalid fields are ignored so a bad link still shows a list."""
        data = (
            self.cleaned_data
            if self.is_valid()
            else {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        )
        return AccountFilters(
            owner=data.get("owner") or None,
            kind=data.get("kind") or "",
            tier=data.get("tier") or "",
            stage=data.get("stage") or "",
            renewal_month=data.get("renewal") or "",
            q=data.get("q") or "",
            sort=data.get("sort") or DEFAULT_SORT,
        )


class AccountForm(forms.ModelForm[Account]):
    attributes = forms.JSONField(
        label=_("Custom attributes"),
        required=False,
        help_text=_('A JSON object, e.g. {"plan_family": "Pro"}.'),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    class Meta:
        model = Account
        fields = ["name", "name_kana", "kind", "owner", "tier", "lifecycle_stage", "industry", "attributes"]
        widgets = {"owner": PlainSelect}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices()  # type: ignore[attr-defined]

    def clean_attributes(self) -> dict[str, Any]:
        value = self.cleaned_data.get("attributes")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Enter a JSON object."))
        return value


class RecordForm(forms.Form):
    """A form with a model's fields that checks their types only. The service checks the record's rules
    and names the field it refuses, so the page, the API and any other caller are held to the same ones
    (a model form would also check the model's constraints, with messages no user can act on)."""

    model: type[models.Model]
    field_names: Sequence[str]
    widgets: dict[str, type[forms.Widget] | forms.Widget] = {}
    help_texts: dict[str, Any] = {}

    def __init__(self, *args: Any, instance: models.Model | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", model_to_dict(instance, fields=self.field_names))
        super().__init__(*args, **kwargs)
        self.fields.update(
            fields_for_model(self.model, fields=self.field_names, widgets=self.widgets, help_texts=self.help_texts)
        )


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ContactForm(RecordForm):
    model = Contact
    field_names = CONTACT_EDITABLE_FIELDS


class ContractForm(RecordForm):
    model = Contract
    field_names = CONTRACT_EDITABLE_FIELDS
    widgets = {name: _date_input() for name in ("start_date", "end_date", "renewal_date", "churned_on")}
    help_texts = {
        "mrr": _("Monthly recurring revenue in whole yen."),
        "churned_on": _("Required when the status is Churned."),
    }


class ContactLeftForm(forms.Form):
    """Who took over from a leaving contact: someone already on the account, a new person, or nobody."""

    left_on = forms.DateField(label=_("Left on"), widget=_date_input())
    successor = forms.ModelChoiceField(
        label=_("Successor"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("No successor / add a new contact below"),
    )
    new_successor_name = forms.CharField(
        label=_("New successor's name"),
        max_length=200,
        required=False,
        help_text=_("If the successor is not on file yet, enter their name and email to add them."),
    )
    new_successor_email = forms.EmailField(label=_("New successor's email"), required=False)

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"left_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        successor = self.fields["successor"]
        assert isinstance(successor, forms.ModelChoiceField)
        successor.queryset = current_colleagues(contact)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("successor") and (data.get("new_successor_name") or data.get("new_successor_email")):
            raise forms.ValidationError(_("Choose a successor on file or add a new one, not both."))
        if data.get("new_successor_email") and not data.get("new_successor_name"):
            self.add_error("new_successor_name", _("Enter the new successor's name."))
        return data
