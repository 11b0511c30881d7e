"""Forms for the playbook, step and template pages. They check through `editor`, `actions` and `templating`,
the same checks the API uses; a refusal keyed "trigger_params.days" shows on the trigger settings field."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from banso.accounts.choices import LifecycleStage, TouchTier
from banso.core.choices import Role
from banso.core.models import Team, User

from . import editor, templating
from .models import (
    EmailAudience,
    EmailTemplate,
    OwnerRule,
    StepAction,
    StepCondition,
    TaskPriority,
    TaskTemplate,
    TriggerKind,
)


def _add_errors(form: forms.Form, exc: ValidationError, fields: dict[str, str]) -> None:
    """Put each refusal on the form field its key belongs to (the longest matching prefix), else on top."""
    for key, messages in exc.message_dict.items():
        target = None
        for prefix in sorted(fields, key=len, reverse=True):
            if key == prefix or key.startswith(prefix + "."):
                target = fields[prefix]
                break
        for message in messages:
            form.add_error(target if target in form.fields else None, message)


class JSONTextField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "class": "mono"})

    def __init__(self, *, empty: Any, **kwargs: Any) -> None:
        self.empty = empty
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value

    def to_python(self, value: Any) -> Any:
        text = (super().to_python(value) or "").strip()
        if not text:
            return self.empty
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValidationError(_("Enter valid JSON.")) from exc


class PlaybookForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    description = forms.CharField(label=_("purpose"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    trigger = forms.ChoiceField(label=_("trigger"), choices=TriggerKind.choices, initial=TriggerKind.MANUAL)
    trigger_params = JSONTextField(
        label=_("trigger settings"),
        empty={},
        help_text=_('As JSON, e.g. {"days": 60} or {"to_bands": ["red"]}.'),
    )
    conditions = JSONTextField(
        label=_("conditions"),
        empty=[],
        help_text=_('As JSON, e.g. [{"field": "tier", "op": "in", "value": ["low", "tech"]}].'),
    )
    cooldown_days = forms.IntegerField(label=_("cool-down (days)"), min_value=0, max_value=3650, initial=30)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.cleaned = editor.clean_playbook(data)
        except ValidationError as exc:
            _add_errors(self, exc, {name: name for name in self.fields})
        return data


class StepForm(forms.Form):
    """A step with every action's settings; only the chosen action's are read."""

    wait_days = forms.IntegerField(label=_("wait (days)"), min_value=0, max_value=365, initial=0)
    business_days = forms.BooleanField(label=_("count business days"), required=False, initial=True)
    condition = forms.ChoiceField(label=_("condition"), choices=StepCondition.choices, initial=StepCondition.ALWAYS)
    action = forms.ChoiceField(label=_("action"), choices=StepAction.choices)
    task_template = forms.ModelChoiceField(
        label=_("task template"), queryset=TaskTemplate.objects.order_by("name"), required=False
    )
    email_template = forms.ModelChoiceField(
        label=_("email template"), queryset=EmailTemplate.objects.order_by("name"), required=False
    )
    audience = forms.ChoiceField(label=_("to"), choices=EmailAudience.choices, required=False)
    url = forms.CharField(label=_("webhook URL"), max_length=1000, required=False)
    text = forms.CharField(label=_("text to post"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tag = forms.CharField(label=_("tag"), max_length=50, required=False)
    field = forms.ChoiceField(
        label=_("field to change"),
        required=False,
        choices=[
            ("", "—"),
            ("tier", _("touch tier")),
            ("lifecycle_stage", _("lifecycle stage")),
            ("owner", _("owner")),
        ],
    )
    attribute = forms.CharField(label=_("or custom attribute key"), max_length=50, required=False)
    value = forms.CharField(
        label=_("new value"),
        required=False,
        max_length=200,
        help_text=_("Tier: %(tiers)s. Stage: %(stages)s. Owner: the user's id.")
        % {"tiers": ", ".join(TouchTier.values), "stages": ", ".join(LifecycleStage.values)},
    )

    FIELD_OF = {
        "params.template_id": "task_template",
        "params.audience": "audience",
        "params.url": "url",
        "params.text": "text",
        "params.tag": "tag",
        "params.field": "field",
        "params.value": "value",
    }

    @classmethod
    def initial_for(cls, step: Any) -> dict[str, Any]:
        params = step.params or {}
        initial = {
            "wait_days": step.wait_days,
            "business_days": step.business_days,
            "condition": step.condition,
            "action": step.action,
            **{k: params.get(k) for k in ("audience", "url", "text", "tag", "value")},
        }
        if step.action == StepAction.TASK:
            initial["task_template"] = params.get("template_id")
        if step.action == StepAction.EMAIL:
            initial["email_template"] = params.get("template_id")
        field = str(params.get("field") or "")
        if field.startswith("attributes."):
            initial["attribute"] = field.removeprefix("attributes.")
        else:
            initial["field"] = field
        return initial

    def params(self, data: dict[str, Any]) -> dict[str, Any]:
        action = data.get("action")
        if action == StepAction.TASK:
            return {"template_id": data["task_template"].pk if data.get("task_template") else None}
        if action == StepAction.EMAIL:
            template = data.get("email_template")
            return {"template_id": template.pk if template else None, "audience": data.get("audience")}
        if action == StepAction.WEBHOOK:
            return {"url": data.get("url"), "text": data.get("text")}
        if action in (StepAction.ADD_TAG, StepAction.REMOVE_TAG):
            return {"tag": data.get("tag")}
        attribute = (data.get("attribute") or "").strip()
        return {"field": f"attributes.{attribute}" if attribute else data.get("field"), "value": data.get("value")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        values = {**data, "params": self.params(data)}
        try:
            self.cleaned = editor.clean_step(values)
        except ValidationError as exc:
            fields = dict(self.FIELD_OF)
            if data.get("action") == StepAction.EMAIL:
                fields["params.template_id"] = "email_template"
            _add_errors(self, exc, {**fields, **{n: n for n in ("wait_days", "condition", "action")}})
        return data


class ChecklistField(forms.Field):
    """One checklist item a line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]


class TaskTemplateForm(forms.ModelForm[TaskTemplate]):
    checklist = ChecklistField(label=_("checklist"), required=False, help_text=_("One item a line."))
    owner_role = forms.ChoiceField(label=_("role"), required=False, choices=[("", "—"), *Role.choices])
    priority = forms.ChoiceField(label=_("priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL)

    class Meta:
        model = TaskTemplate
        fields = (
            "name",
            "title",
            "intent",
            "checklist",
            "owner_rule",
            "owner_role",
            "owner_team",
            "owner_user",
            "due_business_days",
            "priority",
        )
        widgets = {"intent": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_user"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["owner_team"].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]

    def clean_title(self) -> str:
        title: str = self.cleaned_data["title"]
        for message in templating.check(title):
            raise ValidationError(message)
        return title

    def clean_checklist(self) -> list[str]:
        items: list[str] = self.cleaned_data["checklist"]
        if len(items) > 50 or any(len(item) > 300 for item in items):
            raise ValidationError(_("Up to 50 items of up to 300 characters."))
        return items

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rule = data.get("owner_rule")
        if rule == OwnerRule.ROLE and not data.get("owner_role"):
            self.add_error("owner_role", _("Choose the role whose members get the task."))
        if rule == OwnerRule.ROUND_ROBIN and not data.get("owner_team"):
            self.add_error("owner_team", _("Choose the team to take turns."))
        if rule == OwnerRule.USER and not data.get("owner_user"):
            self.add_error("owner_user", _("Choose the person."))
        return data


class EmailTemplateForm(forms.ModelForm[EmailTemplate]):
    class Meta:
        model = EmailTemplate
        fields = ("name", "subject", "body", "tech_touch")
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}

    def clean_subject(self) -> str:
        subject: str = self.cleaned_data["subject"]
        for message in templating.check(subject):
            raise ValidationError(message)
        return subject

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        for message in templating.check(body):
            raise ValidationError(message)
        return body
