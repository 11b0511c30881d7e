"""Forms for the churn pages: a churn record, a churn reason, and the analysis filters. They turn what was
typed into values; the rules live in `services`, whose ValidationError names the field shown here."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.accounts.choices import TouchTier
from banso.accounts.models import Account, Contract
from banso.accounts.services import owner_choices
from banso.core.money import format_yen, parse_yen
from banso.core.widgets import PlainSelect

from . import analysis, services
from .models import ChurnReason


def _reason_choices(current: ChurnReason | None = None) -> list[tuple[str, str]]:
    rows = [("", "—")]
    for node in services.reason_tree():
        if node.reason.is_active or (current is not None and node.reason.pk == current.pk):
            rows.append((str(node.reason.pk), node.reason.name))
    return rows


def _sub_reason_choices(current: ChurnReason | None = None) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("", "—")]
    for node in services.reason_tree():
        subs = [
            (str(c.pk), c.name) for c in node.children if c.is_active or (current is not None and c.pk == current.pk)
        ]
        if subs:
            rows.append((node.reason.name, subs))
    return rows


def _choose(form: forms.Form, name: str, choices: list[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class ChurnRecordForm(forms.Form):
    contract = forms.TypedChoiceField(label=gettext_lazy("Contract"), required=False, coerce=int, empty_value=None)
    churned_on = forms.DateField(
        label=gettext_lazy("Churned on"), widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    reason = forms.TypedChoiceField(label=gettext_lazy("Reason"), coerce=int, empty_value=None, required=False)
    sub_reason = forms.TypedChoiceField(label=gettext_lazy("Sub-reason"), coerce=int, empty_value=None, required=False)
    lost_mrr = forms.CharField(
        label=gettext_lazy("Lost MRR (yen)"),
        required=False,
        help_text=gettext_lazy("Leave empty for the contract's MRR, or the account's MRR before the churn."),
    )
    note = forms.CharField(label=gettext_lazy("Details"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(
        self,
        *args: Any,
        account: Account,
        current_reason: ChurnReason | None = None,
        current_sub: ChurnReason | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        contracts = Contract.objects.filter(account=account).order_by("-start_date", "-id")
        _choose(
            self,
            "contract",
            [("", _("(the account as a whole)"))]
            + [
                (str(c.pk), f"{c.plan} {c.start_date:%Y-%m-%d}〜 {format_yen(c.mrr)} ({c.get_status_display()})")
                for c in contracts
            ],
        )
        _choose(self, "reason", _reason_choices(current_reason))
        _choose(self, "sub_reason", _sub_reason_choices(current_sub))

    def clean_lost_mrr(self) -> int | None:
        raw = (self.cleaned_data.get("lost_mrr") or "").strip()
        if not raw:
            return None
        try:
            return parse_yen(raw)
        except ValueError:
            raise ValidationError(_("Enter the lost MRR as a whole number of yen, zero or more.")) from None

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["note"] = data.get("note") or ""
        return {"account": self.account, **data}

    def show_errors(self, error: ValidationError) -> None:
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class ReasonForm(forms.Form):
    parent = forms.TypedChoiceField(
        label=gettext_lazy("Parent reason"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("Leave empty for a top-level reason."),
    )
    code = forms.CharField(label=gettext_lazy("Code"), max_length=50)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    order = forms.IntegerField(label=gettext_lazy("Order"), min_value=0, initial=100)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, reason: ChurnReason | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tops = ChurnReason.objects.filter(parent__isnull=True)
        if reason is not None:
            tops = tops.exclude(pk=reason.pk)
        _choose(self, "parent", [("", "—")] + [(str(r.pk), r.name) for r in tops])

    def show_errors(self, error: ValidationError) -> None:
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class AnalysisForm(forms.Form):
    """The period (whole months) and account filters of the analysis page, from the query string."""

    start = forms.CharField(label=gettext_lazy("From"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    end = forms.CharField(label=gettext_lazy("To"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    tier = forms.ChoiceField(label=gettext_lazy("Touch tier"), required=False)
    industry = forms.ChoiceField(label=gettext_lazy("Industry"), required=False)
    owner = forms.TypedChoiceField(
        label=gettext_lazy("Owner CSM"), required=False, coerce=int, empty_value=None, widget=PlainSelect
    )
    cohort = forms.ChoiceField(
        label=gettext_lazy("Cohorts"),
        required=False,
        choices=[("year", gettext_lazy("By start year")), ("quarter", gettext_lazy("By start quarter"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choose(self, "tier", [("", _("All")), *TouchTier.choices])
        industries = Account.objects.exclude(industry="").order_by("industry").values_list("industry", flat=True)
        _choose(self, "industry", [("", _("All"))] + [(i, i) for i in industries.distinct()])
        _choose(self, "owner", [("", _("All"))] + [(str(u.pk), str(u)) for u in owner_choices()])

    @staticmethod
    def _month(raw: str, field: str) -> datetime.date | None:
        if not raw:
            return None
        try:
            return datetime.date.fromisoformat(raw[:7] + "-01")
        except ValueError:
            raise ValidationError({field: _("Enter a month as YYYY-MM.")}) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default = analysis.default_period()
        try:
            start = self._month(data.get("start") or "", "start") or default.start
            end = self._month(data.get("end") or "", "end") or default.end
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name, messages)
            return data
        if end < start:
            self.add_error("end", _("The last month cannot be before the first."))
        elif (end.year - start.year) * 12 + end.month - start.month >= 120:
            self.add_error("end", _("Choose at most 120 months."))
        data["period"] = analysis.Period(start, end)
        return data

    def query(self) -> tuple[analysis.Period, analysis.Filters, str]:
        data = self.cleaned_data
        filters = analysis.Filters(
            tier=data.get("tier") or "", industry=data.get("industry") or "", owner_id=data.get("owner")
        )
        return data["period"], filters, data.get("cohort") or "year"
