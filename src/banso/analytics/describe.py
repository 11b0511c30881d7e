"""Metric and segment definitions as people read them: 「ログイン の件数・直近30日」, 「最終ログインからの日数」.

The catalogue, the segment pages, the API and the Account 360 all show definitions through these
functions, so a rule reads the same wherever it appears. Nothing here queries the database except
`rules_text`, which resolves owner ids to names (one query, only when a rule names an owner).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from banso.core.labels import event_kind_label

from .catalogue import CatalogueMetric
from .specs import AttributeRule, Group, MetricRule, MetricSpec, Subject, Window

AGGREGATES: dict[str, str | Promise] = {
    "count": gettext_lazy("Number of events"),
    "sum": gettext_lazy("Sum of event values"),
    "distinct_end_users": gettext_lazy("Number of distinct end users"),
    "distinct_accounts": gettext_lazy("Number of distinct accounts"),
    "days_since": gettext_lazy("Days since the latest event"),
    "trend": gettext_lazy("Change in the number of events vs the window before (%)"),
}
OPERATORS: dict[str, str | Promise] = {
    "eq": gettext_lazy("equals"),
    "ne": gettext_lazy("does not equal"),
    "gt": gettext_lazy("greater than"),
    "gte": gettext_lazy("at least"),
    "lt": gettext_lazy("less than"),
    "lte": gettext_lazy("at most"),
    "between": gettext_lazy("between (low, high)"),
    "in": gettext_lazy("one of (comma-separated)"),
    "is_empty": gettext_lazy("has no value"),
    "is_not_empty": gettext_lazy("has a value"),
}
SUBJECTS: dict[str, str | Promise] = {"account": gettext_lazy("Accounts"), "end_user": gettext_lazy("End users")}


def listing(items: Iterable[str]) -> str:
    """Items joined the way the active language lists them (「ログイン、検索」, "login, search")."""
    return pgettext("list separator", ", ").join(items)


def kinds_text(kinds: Sequence[str]) -> str:
    return listing(event_kind_label(kind) for kind in kinds)


def window_text(window: Window) -> str:
    if window.offset == 0:
        return _("last %(days)s days") % {"days": window.days}
    if window.days == 1:
        return _("%(days)s days ago") % {"days": window.offset}
    return _("%(first)s–%(last)s days ago") % {"first": window.offset, "last": window.offset + window.days - 1}


def metric_text(spec: MetricSpec, account_names: Mapping[int, str] | None = None) -> str:
    """One line saying what the metric counts, over which days, at which accounts."""
    kinds = kinds_text(spec.kinds)
    window = window_text(spec.window) if spec.window else ""
    if spec.aggregate == "days_since":
        text = _("Days since the latest %(kinds)s") % {"kinds": kinds}
        if window:
            text = _("%(metric)s (within the %(window)s)") % {"metric": text, "window": window}
    else:
        templates = {
            "count": _("Number of %(kinds)s · %(window)s"),
            "sum": _("Sum of the values of %(kinds)s · %(window)s"),
            "distinct_end_users": _("End users with %(kinds)s · %(window)s"),
            "distinct_accounts": _("Accounts with %(kinds)s · %(window)s"),
            "trend": _("Change in the number of %(kinds)s · %(window)s vs the same length before (%%)"),
        }
        text = templates[spec.aggregate] % {"kinds": kinds, "window": window}
    if spec.at_accounts:
        names = account_names or {}
        shown = [names.get(pk, f"#{pk}") for pk in spec.at_accounts[:3]]
        more = len(spec.at_accounts) - len(shown)
        places = listing(shown) + (_(" and %(n)s more") % {"n": more} if more else "")
        text = _("%(metric)s, at %(accounts)s") % {"metric": text, "accounts": places}
    return text


# Segments ------------------------------------------------------------------------------------------


@dataclass
class RuleLine:
    """One line of a segment's rules, or a group heading with its lines under it."""

    text: str
    children: list[RuleLine] = field(default_factory=list)


def attribute_label(subject: Subject, name: str) -> str:
    """The attribute's name as the subject's model labels it, or 「カスタム属性「key」」."""
    from .services import SUBJECT_FIELDS, SUBJECT_MODELS

    if name.startswith("attributes."):
        return _("custom attribute “%(key)s”") % {"key": name.removeprefix("attributes.")}
    model_field = SUBJECT_FIELDS[subject].get(name)
    if model_field is None:
        return name
    field_ = SUBJECT_MODELS[subject]._meta.get_field(model_field.removesuffix("_id"))
    return str(getattr(field_, "verbose_name", name))


def attribute_choices(subject: Subject, name: str) -> list[tuple[str, str]]:
    """(code, label) for an attribute with fixed choices (tier, kind, stage), else empty."""
    from .services import SUBJECT_FIELDS, SUBJECT_MODELS

    model_field = SUBJECT_FIELDS[subject].get(name)
    if model_field is None or model_field.endswith("_id"):
        return []
    field_ = SUBJECT_MODELS[subject]._meta.get_field(model_field)
    if not isinstance(field_, models.Field) or not field_.choices:
        return []
    return [(str(code), str(label)) for code, label in field_.flatchoices]


def value_text(value: Any, choices: Mapping[str, str] | None = None) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:,f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    return (choices or {}).get(text, text)


def comparison_text(subject: str, op: str, value: Any, choices: Mapping[str, str] | None = None) -> str:
    def one(v: Any) -> str:
        return value_text(v, choices)

    if op == "is_empty":
        return _("%(subject)s has no value") % {"subject": subject}
    if op == "is_not_empty":
        return _("%(subject)s has a value") % {"subject": subject}
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return _("%(subject)s is between %(low)s and %(high)s") % {
            "subject": subject,
            "low": one(value[0]),
            "high": one(value[1]),
        }
    if op == "in" and isinstance(value, list):
        return _("%(subject)s is one of %(values)s") % {"subject": subject, "values": listing(one(v) for v in value)}
    templates = {
        "eq": _("%(subject)s is %(value)s"),
        "ne": _("%(subject)s is not %(value)s"),
        "gt": _("%(subject)s is greater than %(value)s"),
        "gte": _("%(subject)s is at least %(value)s"),
        "lt": _("%(subject)s is less than %(value)s"),
        "lte": _("%(subject)s is at most %(value)s"),
    }
    return templates.get(op, "%(subject)s " + op + " %(value)s") % {"subject": subject, "value": one(value)}


def rules_text(group: Group, subject: Subject, metrics: Mapping[str, CatalogueMetric]) -> RuleLine:
    """The rule tree as nested lines: a heading (all/any, or not) and one line per condition."""
    owners = _owner_names(group)

    def rule_line(rule: MetricRule | AttributeRule | Group) -> RuleLine:
        if isinstance(rule, Group):
            return group_line(rule)
        if isinstance(rule, MetricRule):
            if isinstance(rule.metric, MetricSpec):
                name = metric_text(rule.metric)
            else:
                known = metrics.get(rule.metric)
                name = str(known.label) if known else rule.metric
            return RuleLine(comparison_text(name, rule.op, rule.value))
        choices = dict(attribute_choices(subject, rule.field))
        if rule.field == "owner":
            choices = owners
        return RuleLine(comparison_text(attribute_label(subject, rule.field), rule.op, rule.value, choices))

    def group_line(g: Group) -> RuleLine:
        if g.negate:
            heading = _("None of the following") if g.match == "any" else _("Not all of the following")
        else:
            heading = _("All of the following") if g.match == "all" else _("Any of the following")
        return RuleLine(heading, [rule_line(rule) for rule in g.rules])

    return group_line(group)


def _owner_names(group: Group) -> dict[str, str]:
    ids: set[int] = set()

    def walk(g: Group) -> None:
        for rule in g.rules:
            if isinstance(rule, Group):
                walk(rule)
            elif isinstance(rule, AttributeRule) and rule.field == "owner":
                values: list[Any] = list(rule.value) if isinstance(rule.value, list) else [rule.value]
                ids.update(int(v) for v in values if str(v).isdigit())

    walk(group)
    if not ids:
        return {}
    from banso.core.models import User

    return {str(user.pk): str(user) for user in User.objects.filter(pk__in=ids)}


def metric_value_text(value: Decimal | int | float | None, metric: MetricSpec) -> str:
    """A stored value as shown on a page: whole numbers without decimals, trends with a sign and %."""
    if value is None:
        return "—"
    value = Decimal(str(value))
    if metric.aggregate == "trend":
        return f"{value:+,.1f}%"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"
