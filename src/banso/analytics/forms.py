"""Forms for the analytics pages: a custom metric's structured fields, and a segment's rule builder.

Both forms only turn what was typed into the data a definition is made of (numbers, lists, codes) and
check types. The rules themselves are checked by `specs` and `services`, whose `SpecError` names the
field; `show_errors` puts each message next to the field it names, so the page, the API and the
command line are held to the same rules.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from typing import Any, cast

from django import forms
from django.db.models import Q
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.accounts.models import Account
from banso.core.labels import event_kinds
from banso.core.models import User

from .describe import AGGREGATES, OPERATORS, attribute_choices, attribute_label, listing
from .models import MetricDefinition, Segment, SubjectType
from .services import SUBJECT_FIELDS, catalogue
from .specs import SpecError, Subject

CUSTOM_ATTRIBUTE = "attributes."
LIST_SPLIT = re.compile(r"\s*[,、]\s*")
RANGE_SPLIT = re.compile(r"\s*[〜~]\s*")
NO_VALUE_OPS = ("is_empty", "is_not_empty")


def _normal(text: str) -> str:
    """Full-width digits and signs as typed by a Japanese IME become ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def _number(text: str) -> int | float:
    cleaned = _normal(text).replace(",", "").removesuffix("%").removeprefix("¥").strip()
    try:
        number = float(cleaned)
    except ValueError:
        raise forms.ValidationError(_("“%(value)s” is not a number.") % {"value": text}) from None
    return int(number) if number.is_integer() and "." not in cleaned else number


def _parts(text: str, op: str) -> list[str]:
    """Split a typed value into the pieces the operator takes: two for a range, several for a list."""
    text = _normal(text)
    if op == "between":
        pieces = RANGE_SPLIT.split(text) if RANGE_SPLIT.search(text) else LIST_SPLIT.split(text)
        pieces = [p for p in pieces if p]
        if len(pieces) != 2:
            raise forms.ValidationError(_("Enter two values: low and high (e.g. 10〜20)."))
        return pieces
    if op == "in":
        pieces = [p for p in LIST_SPLIT.split(text) if p]
        if not pieces:
            raise forms.ValidationError(_("Enter one or more values separated by commas."))
        return pieces
    if not text:
        raise forms.ValidationError(_("Enter a value."))
    return [text]


# Custom metrics ------------------------------------------------------------------------------------


class MetricForm(forms.Form):
    key = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=63,
        required=False,
        help_text=gettext_lazy(
            "Lower-case letters, digits and underscores (e.g. exports_7d). Segments and the API use it; it cannot "
            "change later."
        ),
    )
    label = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    subject = forms.ChoiceField(label=gettext_lazy("About"), choices=SubjectType.choices)
    aggregate = forms.ChoiceField(label=gettext_lazy("Aggregate"), choices=list(AGGREGATES.items()))
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Event kinds"), required=False, widget=forms.CheckboxSelectMultiple
    )
    other_kinds = forms.CharField(
        label=gettext_lazy("Other event kinds"),
        required=False,
        help_text=gettext_lazy("Codes of kinds not listed above, separated by commas (as they appear in the data)."),
    )
    window_days = forms.IntegerField(
        label=gettext_lazy("Window (days)"),
        required=False,
        help_text=gettext_lazy("How many calendar days the metric looks at. Not needed for “days since”."),
    )
    window_offset = forms.IntegerField(
        label=gettext_lazy("Ending how many days ago"),
        required=False,
        help_text=gettext_lazy("0: up to and including today. 3 with a 5-day window: 3–7 days ago."),
    )
    at_accounts = forms.CharField(
        label=gettext_lazy("Only at these accounts"),
        required=False,
        help_text=gettext_lazy("Optional: account numbers separated by commas, e.g. the merchant an end user visited."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active (computed on every recompute)"), required=False)

    # SpecError field paths → the form field that shows the message. Errors about the whole definition
    # (a window the aggregate needs, a distinct count that cannot vary) are about the aggregate chosen.
    ERROR_FIELDS = {
        "key": "key",
        "label": "label",
        "spec": "aggregate",
        "spec.subject": "subject",
        "spec.aggregate": "aggregate",
        "spec.kinds": "kinds",
        "spec.window": "window_days",
        "spec.window.days": "window_days",
        "spec.window.offset": "window_offset",
        "spec.at_accounts": "at_accounts",
        "is_active": "is_active",
    }

    def __init__(self, *args: Any, instance: MetricDefinition | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        kwargs.setdefault(
            "initial",
            {"subject": "account", "aggregate": "count", "window_days": 30, "window_offset": 0, "is_active": True},
        )
        super().__init__(*args, **kwargs)
        kinds = self.fields["kinds"]
        assert isinstance(kinds, forms.MultipleChoiceField)
        kinds.choices = [(code, f"{label}（{code}）") for code, label in event_kinds().items()]
        if instance is not None:
            del self.fields["key"]

    @staticmethod
    def initial_from(definition: MetricDefinition) -> dict[str, Any]:
        spec = definition.spec or {}
        known = event_kinds()
        kinds = list(spec.get("kinds") or [])
        window = spec.get("window") or {}
        return {
            "label": definition.label,
            "description": definition.description,
            "subject": spec.get("subject", "account"),
            "aggregate": spec.get("aggregate", "count"),
            "kinds": [kind for kind in kinds if kind in known],
            "other_kinds": ", ".join(kind for kind in kinds if kind not in known),
            "window_days": window.get("days"),
            "window_offset": window.get("offset", 0) if window else None,
            "at_accounts": ", ".join(str(pk) for pk in spec.get("at_accounts") or []),
            "is_active": definition.is_active,
        }

    def clean_at_accounts(self) -> list[int]:
        text = _normal(self.cleaned_data.get("at_accounts") or "")
        pieces = [p for p in LIST_SPLIT.split(text) if p]
        if not all(p.isdigit() for p in pieces):
            raise forms.ValidationError(_("Enter account numbers separated by commas."))
        return [int(p) for p in pieces]

    def clean_other_kinds(self) -> list[str]:
        text = _normal(self.cleaned_data.get("other_kinds") or "")
        return [p for p in LIST_SPLIT.split(text) if p]

    def spec(self) -> dict[str, Any]:
        """The definition as data, for `services.save_custom_metric` to check and store."""
        data = self.cleaned_data
        kinds = list(dict.fromkeys([*data.get("kinds", []), *data.get("other_kinds", [])]))
        spec: dict[str, Any] = {"subject": data["subject"], "aggregate": data["aggregate"], "kinds": kinds}
        if data.get("window_days") is not None:
            spec["window"] = {"days": data["window_days"], "offset": data.get("window_offset") or 0}
        elif data.get("window_offset"):
            spec["window"] = {"offset": data["window_offset"]}
        if data.get("at_accounts"):
            spec["at_accounts"] = data["at_accounts"]
        return spec

    def show_errors(self, error: SpecError) -> None:
        for path, message in error.errors:
            self.add_error(_field_for(path, self.ERROR_FIELDS, self.fields), message)

    def account_names(self) -> dict[int, str]:
        ids = self.cleaned_data.get("at_accounts") or []
        return dict(Account.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _field_for(path: str, table: dict[str, str], fields: dict[str, Any]) -> str | None:
    """The longest known prefix of `path` (spec.kinds.0 → kinds), if the form has that field."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        name = table.get(".".join(parts[:end]))
        if name is not None:
            return name if name in fields else None
    return None


# Segments ------------------------------------------------------------------------------------------


def target_choices(subject: Subject, extra: list[str] | None = None) -> list[tuple[str, Any]]:
    """What a condition can test: the catalogue's metrics by category, then the subject's attributes."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, metric in catalogue(subject).items():
        groups.setdefault(str(metric.category), []).append((f"metric:{key}", str(metric.label)))
    for key in extra or []:
        groups.setdefault(_("Unknown metrics"), []).append((f"metric:{key}", key))
    attributes = [(f"attr:{name}", attribute_label(subject, name)) for name in SUBJECT_FIELDS[subject]]
    attributes.append((f"attr:{CUSTOM_ATTRIBUTE}", _("Custom attribute (enter its key)")))
    return [(_("Metric: %(category)s") % {"category": name}, items) for name, items in groups.items()] + [
        (_("Attributes"), attributes)
    ]


class RuleRowForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Metric or attribute"))
    attribute_key = forms.CharField(label=gettext_lazy("Attribute key"), max_length=90, required=False)
    op = forms.ChoiceField(label=gettext_lazy("Condition"), choices=list(OPERATORS.items()))
    value = forms.CharField(label=gettext_lazy("Value"), max_length=500, required=False)

    def __init__(self, *args: Any, subject: Subject = "account", extra_metrics: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.subject = subject
        target = self.fields["target"]
        assert isinstance(target, forms.ChoiceField)
        target.choices = target_choices(subject, extra_metrics)

    @property
    def uses_custom_attribute(self) -> bool:
        return bool(self["target"].value() == f"attr:{CUSTOM_ATTRIBUTE}")

    def rule(self) -> dict[str, Any] | None:
        """The condition as data (`specs.MetricRule` / `AttributeRule`), or None after marking the field."""
        data = self.cleaned_data
        kind, _sep, name = data["target"].partition(":")
        op = data["op"]
        if kind == "attribute" or kind == "attr":
            if name == CUSTOM_ATTRIBUTE:
                key = _normal(data.get("attribute_key") or "")
                if not key:
                    self.add_error("attribute_key", _("Enter the custom attribute's key."))
                    return None
                name = CUSTOM_ATTRIBUTE + key
            rule: dict[str, Any] = {"type": "attribute", "field": name, "op": op}
        else:
            rule = {"type": "metric", "metric": name, "op": op}
        if op in NO_VALUE_OPS:
            return rule
        try:
            pieces = _parts(data.get("value") or "", op)
            if rule["type"] == "metric":
                values = [_number(piece) for piece in pieces]
            else:
                values = [self._attribute_value(name, op, piece) for piece in pieces]
        except forms.ValidationError as error:
            self.add_error("value", error)
            return None
        rule["value"] = values if op in ("between", "in") else values[0]
        return rule

    def _attribute_value(self, name: str, op: str, piece: str) -> Any:
        """Numbers where the attribute is a number (MRR) or compared by size; codes for labelled choices;
        a user id for an owner given by name; ISO dates for dates typed as 2026/12/01."""
        if name == "mrr" or (op in ("gt", "gte", "lt", "lte", "between") and _is_number(piece)):
            return _number(piece)
        choices = attribute_choices(self.subject, name)
        if choices:
            by_text = {label: code for code, label in choices} | {code: code for code, _label in choices}
            if piece not in by_text:
                allowed = listing(label for _code, label in choices)
                raise forms.ValidationError(_("Choose one of: %(values)s.") % {"values": allowed})
            return by_text[piece]
        if name == "owner":
            return _user_id(piece)
        if name == "next_renewal_date":
            return _iso_date(piece)
        return piece


def _is_number(text: str) -> bool:
    try:
        _number(text)
    except forms.ValidationError:
        return False
    return True


def _user_id(text: str) -> str:
    if text.isdigit():
        return text
    user = User.objects.filter(Q(username=text) | Q(display_name=text)).order_by("pk").first()
    if user is None:
        raise forms.ValidationError(_("No user named “%(name)s”.") % {"name": text})
    return str(user.pk)


def _iso_date(text: str) -> str:
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    raise forms.ValidationError(_("Enter a date as YYYY-MM-DD."))


class BaseRuleFormSet(BaseFormSet[RuleRowForm]):
    def kept(self) -> list[RuleRowForm]:
        """The rows not removed, in order: row i here is rule i of the definition."""
        return [form for form in self.forms if not (self.can_delete and form["DELETE"].value())]


RuleFormSet = cast(
    type[BaseRuleFormSet], formset_factory(RuleRowForm, formset=BaseRuleFormSet, extra=0, can_delete=True)
)


class SegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    subject_type = forms.ChoiceField(choices=SubjectType.choices, widget=forms.HiddenInput)
    is_active = forms.BooleanField(label=gettext_lazy("Refresh on every recompute"), required=False)
    match = forms.ChoiceField(
        label=gettext_lazy("Members are those who match"),
        choices=[("all", gettext_lazy("all of the conditions")), ("any", gettext_lazy("any of the conditions"))],
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Define with"),
        choices=[("builder", gettext_lazy("Conditions")), ("json", gettext_lazy("Advanced (JSON)"))],
        widget=forms.RadioSelect,
    )
    rules_json = forms.CharField(
        label=gettext_lazy("Rules as JSON"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=gettext_lazy(
            'A rule group: {"match": "all", "rules": [{"type": "metric", "metric": "days_since_login", "op": "gte", '
            '"value": 30}]}. Groups can nest and take "negate": true.'
        ),
    )


class SegmentEditor:
    """The segment form with its rows of conditions: builds the rules, and shows a SpecError where it points."""

    def __init__(self, data: Any = None, *, subject: Subject, segment: Segment | None = None) -> None:
        self.subject = subject
        self.segment = segment
        rules: dict[str, Any] = segment.rules if segment is not None else {"match": "all", "rules": []}
        rows = rows_from_rules(rules, subject)
        self.builder_possible = rows is not None
        initial = {
            "name": segment.name if segment else "",
            "description": segment.description if segment else "",
            "subject_type": subject,
            "is_active": segment.is_active if segment else True,
            "match": rules.get("match", "all"),
            "mode": "builder" if self.builder_possible else "json",
            "rules_json": json.dumps(rules, ensure_ascii=False, indent=2) if segment else "",
        }
        self.form = SegmentForm(data, initial=initial)
        known = set(catalogue(subject))
        extra = sorted({row["target"][7:] for row in rows or [] if row["target"].startswith("metric:")} - known)
        if data is not None:
            extra = sorted(
                {v[7:] for k, v in data.items() if k.endswith("-target") and v.startswith("metric:")} - known
            )
        self.rows: BaseRuleFormSet = RuleFormSet(
            data,
            prefix="rules",
            initial=None if data is not None else (rows or []) if segment else [{"op": "gte"}],
            # Every row posted is a condition to check, even one equal to the rule it was shown with.
            form_kwargs={"subject": subject, "extra_metrics": extra, "empty_permitted": False},
        )
        self.builder_errors: list[str] = []

    def rules(self) -> dict[str, Any] | None:
        """The rules as data, or None after putting the typing errors on their fields."""
        if not self.form.is_valid():
            return None
        if self.form.cleaned_data["mode"] == "json":
            try:
                rules = json.loads(self.form.cleaned_data["rules_json"] or "")
            except json.JSONDecodeError as error:
                self.form.add_error("rules_json", _("Not valid JSON: %(error)s") % {"error": error})
                return None
            if not isinstance(rules, dict):
                self.form.add_error("rules_json", _("Enter a JSON object (a rule group)."))
                return None
            return rules
        if not self.rows.is_valid():
            return None
        built = [row.rule() for row in self.rows.kept()]
        if any(rule is None for rule in built):
            return None
        return {"match": self.form.cleaned_data["match"], "rules": built}

    def show_errors(self, error: SpecError) -> None:
        json_mode = self.form.is_bound and self.form.cleaned_data.get("mode") == "json"
        kept = self.rows.kept() if self.rows.is_bound and not json_mode else []
        for path, message in error.errors:
            parts = path.split(".")
            if parts[0] in ("name", "description"):
                self.form.add_error(parts[0], message)
            elif parts[0] != "rules":
                self.form.add_error(None, message)
            elif json_mode:
                where = ".".join(parts[1:])
                self.form.add_error("rules_json", f"{where}: {message}" if where else message)
            elif parts[1:2] == ["match"]:
                self.form.add_error("match", message)
            elif len(parts) >= 3 and parts[1] == "rules" and parts[2].isdigit() and int(parts[2]) < len(kept):
                kept[int(parts[2])].add_error(_row_field(parts[3:]), message)
            elif len(parts) == 2 and parts[1] == "rules":
                self.builder_errors.append(_("Add at least one condition."))
            else:
                self.builder_errors.append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors or self.builder_errors or any(row.errors for row in self.rows.forms))


def _row_field(rest: list[str]) -> str | None:
    """Which field of a row a rule's error path points at (the path starts with the rule's type tag)."""
    names = rest[1:] if rest and rest[0] in ("metric", "attribute", "group") else rest
    if not names or names[0] == "value":
        return "value"
    if names[0] == "op":
        return "op"
    if names[0] in ("metric", "field"):
        return "target"
    return None


def rows_from_rules(rules: dict[str, Any], subject: Subject) -> list[dict[str, Any]] | None:
    """A flat rule group as rows of the builder, or None if it needs the JSON editor (nesting, negation,
    metrics defined inline)."""
    if rules.get("negate"):
        return None
    rows = []
    for rule in rules.get("rules", []):
        kind = rule.get("type", "metric")
        if kind == "metric" and isinstance(rule.get("metric"), str):
            row = {"target": f"metric:{rule['metric']}"}
        elif kind == "attribute":
            field = str(rule.get("field", ""))
            if field.startswith(CUSTOM_ATTRIBUTE):
                row = {"target": f"attr:{CUSTOM_ATTRIBUTE}", "attribute_key": field.removeprefix(CUSTOM_ATTRIBUTE)}
            else:
                row = {"target": f"attr:{field}"}
        else:
            return None
        row["op"] = rule.get("op", "eq")
        labels = dict(attribute_choices(subject, str(rule.get("field")))) if kind == "attribute" else {}
        row["value"] = _value_as_text(rule.get("value"), row["op"], labels)
        rows.append(row)
    return rows


def _value_as_text(value: Any, op: str, labels: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ("〜" if op == "between" else ", ").join(_value_as_text(v, "eq", labels) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return labels.get(str(value), str(value))


def attribute_value_lists(subject: Subject) -> dict[str, list[str]]:
    """Suggestions for typed values, by attribute: choice labels, and owners' names (one query)."""
    lists = {name: [label for _code, label in attribute_choices(subject, name)] for name in SUBJECT_FIELDS[subject]}
    if subject == "account":
        from banso.accounts.services import owner_choices

        lists["owner"] = [
            display or username for display, username in owner_choices().values_list("display_name", "username")
        ]
    return {name: values for name, values in lists.items() if values}
