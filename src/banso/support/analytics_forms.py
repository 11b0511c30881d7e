"""Forms of the analytics area: categories, inquiry types, confirming a type, improvement requests."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category, ImprovementStatus, ImprovementTarget, InquiryType


class CategoryImportForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or Excel)"),
        help_text=_("Columns: code, name, parent_code. CSV in UTF-8 (with or without BOM) or Shift_JIS."),
    )


class CategoryForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ModelChoiceField(label=_("Parent"), queryset=Category.objects.all(), required=False)
    position = forms.IntegerField(label=_("Order"), min_value=0, initial=0)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class InquiryTypeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    group = forms.CharField(label=_("Group"), max_length=100, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class ConfirmTypeForm(forms.Form):
    inquiry_type = forms.ModelChoiceField(label=_("Type"), queryset=InquiryType.objects.filter(active=True))


class ImprovementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    target = forms.ChoiceField(label=_("To"), choices=ImprovementTarget.choices, initial=ImprovementTarget.PRODUCT)
    inquiry_types = forms.ModelMultipleChoiceField(
        label=_("Inquiry types"),
        queryset=InquiryType.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )


class ImprovementStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ImprovementStatus.choices)


class ImprovementLinkForm(forms.Form):
    """From a conversation: add this inquiry to an existing request or raise a new one."""

    request = forms.IntegerField(required=False)
    new_title = forms.CharField(label=_("or a new request"), max_length=200, required=False)
