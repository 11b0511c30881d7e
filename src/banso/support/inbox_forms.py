"""Forms of the inbox area: the reply box, logging a phone inquiry, a request to another team, a macro."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banso.core.models import Team

from .models import Priority, Status


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}))
    internal = forms.BooleanField(label=_("Internal note"), required=False)
    status = forms.ModelChoiceField(
        label=_("Then set the status to"),
        queryset=Status.objects.filter(active=True),
        required=False,
        to_field_name="key",
        empty_label=_("(unchanged)"),
    )
    macro = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PhoneInquiryForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("What the caller said"), widget=forms.Textarea(attrs={"rows": 5}))
    requester_name = forms.CharField(label=_("Caller's name"), max_length=200, required=False)
    requester_email = forms.EmailField(label=_("Caller's email"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)


class TeamRequestForm(forms.Form):
    to_team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    to_name = forms.CharField(label=_("Or a team outside the desk"), max_length=100, required=False)
    question = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))
    due_at = forms.DateTimeField(
        label=_("Answer due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class MacroForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}))
    personal = forms.BooleanField(label=_("Personal (only you see it)"), required=False)
    set_status = forms.ModelChoiceField(
        label=_("Set the status when used"), queryset=Status.objects.filter(active=True), required=False
    )
    add_tags = forms.CharField(label=_("Add tags when used (comma-separated)"), max_length=500, required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
