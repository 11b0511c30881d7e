"""Forms for the survey pages: a survey's settings, a test send, and the public answer form.

They only turn what was typed into values; the rules live in `surveys` (its SurveyError names the field),
so the page, the API and the command line are held to the same checks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from banso.accounts.choices import TouchTier
from banso.analytics.models import Segment

from .models import Survey, SurveyAudience, SurveyKind, SurveyRecipients
from .surveys import DEFAULT_COMMENT_QUESTION, SurveyData, SurveyError


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    question = forms.CharField(
        label=_("Question"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave empty for the standard question of the kind. {会社名} is replaced by your company name."),
    )
    comment_question = forms.CharField(
        label=_("Comment question"),
        required=False,
        max_length=300,
        initial=DEFAULT_COMMENT_QUESTION,
        help_text=_("Leave empty to ask for no comment."),
    )
    audience = forms.ChoiceField(label=_("Audience"), choices=SurveyAudience.choices)
    tier = forms.ChoiceField(label=_("Touch tier"), choices=[("", "—"), *TouchTier.choices], required=False)
    segment = forms.ModelChoiceField(
        label=_("Account segment"), queryset=Segment.objects.filter(subject_type="account"), required=False
    )
    recipients = forms.ChoiceField(label=_("Recipients"), choices=SurveyRecipients.choices)
    repeat_months = forms.IntegerField(
        label=_("Repeat every (months)"),
        required=False,
        min_value=1,
        max_value=24,
        help_text=_("Empty: a one-off survey, sent when you press Send."),
    )
    next_due_on = forms.DateField(
        label=_("Next send"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For a repeating survey: the day of the next scheduled send (default today)."),
    )
    link_valid_days = forms.IntegerField(label=_("Link valid for (days)"), min_value=1, max_value=365, initial=30)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def for_survey(cls, survey: Survey) -> SurveyForm:
        return cls(
            initial={
                "name": survey.name,
                "kind": survey.kind,
                "question": survey.question,
                "comment_question": survey.comment_question,
                "audience": survey.audience,
                "tier": survey.tier,
                "segment": survey.segment_id,
                "recipients": survey.recipients,
                "repeat_months": survey.repeat_months,
                "next_due_on": survey.next_due_on,
                "link_valid_days": survey.link_valid_days,
                "is_active": survey.is_active,
            }
        )

    def data_for_service(self) -> SurveyData:
        d: dict[str, Any] = self.cleaned_data
        segment = d.get("segment")
        return SurveyData(
            name=d["name"],
            kind=d["kind"],
            question=d.get("question") or "",
            comment_question=d.get("comment_question") or "",
            audience=d["audience"],
            tier=d.get("tier") or "",
            segment_id=segment.pk if segment else None,
            recipients=d["recipients"],
            repeat_months=d.get("repeat_months"),
            next_due_on=d.get("next_due_on"),
            link_valid_days=d["link_valid_days"],
            is_active=bool(d.get("is_active")),
        )

    def show_error(self, error: SurveyError) -> None:
        name = "segment" if error.field == "segment_id" else error.field
        self.add_error(name if name in self.fields else None, error.message)


class TestSendForm(forms.Form):
    email = forms.EmailField(label=_("Send a test to"))


class AnswerForm(forms.Form):
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=10)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea)
