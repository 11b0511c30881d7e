"""Forms of the task pages: the list's filters, a new task, delegation, comments. Rules live in `worklist`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account
from banso.core.models import Team, User
from banso.core.permissions import ROLE_CAPABILITIES, Capability

from .models import Playbook, TaskPriority, TaskStatus


def workers() -> QuerySet[User]:
    """Active people who can work tasks, by name."""
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if Capability.WORK_TASKS in caps]
    return User.objects.filter(is_active=True, role__in=roles).order_by("display_name", "username")


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", pgettext_lazy("task filter", "Open")),
            *TaskStatus.choices,
            ("all", pgettext_lazy("task status", "All")),
        ],
    )
    due = forms.ChoiceField(
        label=_("Due"),
        required=False,
        choices=[("", "—"), ("overdue", _("Overdue")), ("today", _("Due today")), ("week", _("Due this week"))],
    )
    playbook = forms.ModelChoiceField(label=_("Playbook"), required=False, queryset=Playbook.objects.all())
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    owner = forms.ModelChoiceField(label=_("Person"), required=False, queryset=User.objects.none())
    team = forms.ModelChoiceField(label=_("Team"), required=False, queryset=Team.objects.all())
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("due", _("Due date")),
            ("-due", _("Due date, latest first")),
            ("priority", _("Priority")),
            ("created", _("Newest")),
            ("title", _("Title")),
        ],
    )

    def __init__(self, *args: Any, manager: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if manager:
            self.fields["owner"].queryset = workers()  # type: ignore[attr-defined]
        else:
            del self.fields["owner"]
            del self.fields["team"]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `worklist.filter_tasks` (an invalid form filters nothing)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "status": data.get("status") or "",
            "due": data.get("due") or "",
            "playbook_id": data["playbook"].pk if data.get("playbook") else None,
            "account_id": data.get("account"),
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "team": data.get("team"),
            "sort": data.get("sort") or "due",
        }


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    intent = forms.CharField(
        label=_("Why (intent)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the task is for, so whoever does it can judge well."),
    )
    account = forms.ModelChoiceField(
        label=_("Account"), required=False, queryset=Account.objects.all(), widget=forms.HiddenInput
    )
    owner = forms.ModelChoiceField(label=pgettext_lazy("task", "Owner"), queryset=User.objects.none(), required=False)
    due_on = forms.DateField(label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL)
    checklist = forms.CharField(
        label=_("Checklist"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One item per line."),
    )

    def __init__(self, *args: Any, manager: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if manager:
            self.fields["owner"].queryset = workers()  # type: ignore[attr-defined]
        else:
            del self.fields["owner"]

    def checklist_items(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("checklist", "").splitlines() if line.strip()]


class DelegateForm(forms.Form):
    delegated_to = forms.ModelChoiceField(label=_("Delegate to"), queryset=User.objects.none())
    note = forms.CharField(
        label=_("Note for the delegate"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What to do and what to report back; the intent stays on the task."),
    )

    def __init__(self, *args: Any, exclude: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegated_to"].queryset = workers().exclude(pk=exclude)  # type: ignore[attr-defined]


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())

    def __init__(self, *args: Any, exclude: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = workers().exclude(pk=exclude)  # type: ignore[attr-defined]


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
