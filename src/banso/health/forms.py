"""The scorecard designer's forms: the card (name, who it applies to, bands) and one row per measure
(which measure, weight, mapping). Everything is checked by `services.save_scorecard` with the pydantic
definition; its field-path errors are put back on the row and field they name."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.accounts.choices import TouchTier
from banso.analytics.models import Segment

from . import services
from .models import Scorecard

MAPPINGS = [("range", gettext_lazy("Range (linear)")), ("thresholds", gettext_lazy("Thresholds"))]


def _number(value: float) -> str:
    return f"{value:g}"


def steps_text(steps: list[dict[str, Any]]) -> str:
    return ", ".join(f"{_number(s['min'])}:{_number(s['points'])}" for s in steps)


def parse_steps(text: str) -> list[dict[str, float]]:
    """`20:100, 10:70` -> thresholds; raises ValueError with a message for the field."""
    steps = []
    for part in text.replace("、", ",").replace("，", ",").split(","):
        if not part.strip():
            continue
        minimum, sep, points = part.replace("：", ":").partition(":")
        try:
            if not sep:
                raise ValueError
            steps.append({"min": float(minimum), "points": float(points)})
        except ValueError:
            raise ValueError(
                _("Write each threshold as value:points, e.g. 20:100, 10:70 (“%(part)s”).") % {"part": part.strip()}
            ) from None
    if not steps:
        raise ValueError(_("Give at least one threshold."))
    return steps


class MeasureRowForm(forms.Form):
    key = forms.ChoiceField(label=gettext_lazy("Measure"))
    label = forms.CharField(label=gettext_lazy("Label (optional)"), max_length=200, required=False)
    weight = forms.FloatField(label=gettext_lazy("Weight"), initial=10)
    mapping = forms.ChoiceField(label=gettext_lazy("Mapping"), choices=MAPPINGS, initial="range")
    bad = forms.FloatField(label=gettext_lazy("Bad value (0 points)"), required=False)
    good = forms.FloatField(label=gettext_lazy("Good value (100 points)"), required=False)
    steps = forms.CharField(
        label=gettext_lazy("Thresholds (value:points, highest first)"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "20:100, 10:70"}),
    )
    otherwise = forms.FloatField(label=gettext_lazy("Otherwise (points)"), required=False, initial=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["key"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(g.category, g.options) for g in services.option_groups()]

    def measure(self) -> dict[str, Any] | None:
        """The row as definition data, or None after putting a typing error on the field."""
        data = self.cleaned_data
        mapping: dict[str, Any]
        if data.get("mapping") == "thresholds":
            try:
                steps = parse_steps(data.get("steps") or "")
            except ValueError as error:
                self.add_error("steps", str(error))
                return None
            mapping = {"type": "thresholds", "steps": steps, "otherwise": data.get("otherwise") or 0}
        else:
            missing = [name for name in ("bad", "good") if data.get(name) is None]
            for name in missing:
                self.add_error(name, _("Give a value."))
            if missing:
                return None
            mapping = {"type": "range", "bad": data["bad"], "good": data["good"]}
        return {"key": data["key"], "label": data.get("label") or "", "weight": data["weight"], "mapping": mapping}

    @staticmethod
    def initial_for(measure: dict[str, Any]) -> dict[str, Any]:
        mapping = measure["mapping"]
        initial = {"key": measure["key"], "label": measure.get("label", ""), "weight": measure["weight"]}
        if mapping["type"] == "thresholds":
            initial.update(mapping="thresholds", steps=steps_text(mapping["steps"]), otherwise=mapping["otherwise"])
        else:
            initial.update(mapping="range", bad=mapping["bad"], good=mapping["good"])
        return initial


class BaseMeasureFormSet(BaseFormSet[MeasureRowForm]):
    pass


MeasureFormSet = cast(
    type[BaseMeasureFormSet], formset_factory(MeasureRowForm, formset=BaseMeasureFormSet, extra=0, can_delete=True)
)


class ScorecardForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    segment = forms.ModelChoiceField(
        label=gettext_lazy("Segment"),
        queryset=Segment.objects.filter(subject_type="account"),
        required=False,
        empty_label=gettext_lazy("(none)"),
    )
    tier = forms.ChoiceField(
        label=gettext_lazy("Touch tier"), choices=[("", gettext_lazy("(none)")), *TouchTier.choices], required=False
    )
    priority = forms.IntegerField(
        label=gettext_lazy("Priority"),
        initial=100,
        min_value=0,
        help_text=gettext_lazy("Cards are tried from the lowest number; the default card (no segment, no tier) last."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    red_below = forms.FloatField(label=gettext_lazy("Red below"), initial=40)
    green_from = forms.FloatField(label=gettext_lazy("Green from"), initial=70)
    note = forms.CharField(
        label=gettext_lazy("What changed and why (kept with the version)"), max_length=300, required=False
    )


class CardEditor:
    """The card form and its measure rows together."""

    def __init__(self, data: Any = None, card: Scorecard | None = None) -> None:
        initial: dict[str, Any] = {}
        rows: list[dict[str, Any]] = [{"weight": 10, "mapping": "range"}]
        if card is not None:
            definition = card.current.definition if card.current else {"measures": [], "bands": {}}
            bands = definition.get("bands", {})
            initial = {
                "name": card.name,
                "description": card.description,
                "segment": card.segment_id,
                "tier": card.tier,
                "priority": card.priority,
                "is_active": card.is_active,
                "red_below": bands.get("red_below", 40),
                "green_from": bands.get("green_from", 70),
            }
            rows = [MeasureRowForm.initial_for(m) for m in definition.get("measures", [])]
        self.card = card
        self.form = ScorecardForm(data, initial=initial or None)
        self.rows = MeasureFormSet(data, prefix="m", initial=None if data is not None else rows)
        self.kept: list[MeasureRowForm] = []

    def definition(self) -> dict[str, Any] | None:
        """The definition as data, or None after putting typing errors on their fields."""
        form_ok = self.form.is_valid()
        rows_ok = self.rows.is_valid()
        measures: list[dict[str, Any]] = []
        self.kept = []
        ok = form_ok and rows_ok
        for row in self.rows.forms:
            if not row.is_valid() or row.cleaned_data.get("DELETE"):
                continue
            measure = row.measure()
            if measure is None:
                ok = False
                continue
            self.kept.append(row)
            measures.append(measure)
        if not ok:
            return None
        return {
            "measures": measures,
            "bands": {
                "red_below": self.form.cleaned_data["red_below"],
                "green_from": self.form.cleaned_data["green_from"],
            },
        }

    def place_errors(self, errors: list[tuple[str, str]]) -> None:
        """Put the service's field-path errors on the rows and fields they name."""
        for path, message in errors:
            parts = path.split(".")
            if parts[:2] == ["definition", "measures"] and len(parts) > 3 and parts[2].isdigit():
                index = int(parts[2])
                if index < len(self.kept):
                    name = parts[3]
                    if name == "mapping":
                        tail = parts[4] if len(parts) > 4 else ""
                        mapping = self.kept[index].cleaned_data.get("mapping")
                        name = "steps" if mapping == "thresholds" else (tail if tail in ("bad", "good") else "bad")
                        if tail == "otherwise":
                            name = "otherwise"
                    self.kept[index].add_error(name if name in self.kept[index].fields else None, message)
                    continue
            if parts[:2] == ["definition", "bands"]:
                field = parts[2] if len(parts) > 2 and parts[2] in ("red_below", "green_from") else "red_below"
                self.form.add_error(field, message)
                continue
            if parts[0] in self.form.fields:
                self.form.add_error(parts[0], message)
                continue
            self.form.add_error(None, message)
