"""A playbook's conditions on the account: what fields and operators there are, how a list of conditions is
checked (errors name the condition and its part), and how it becomes one database filter for all accounts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, Field, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account

from .models import AccountTag

OPS: dict[str, Promise] = {
    "eq": _("is"),
    "ne": _("is not"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "gt": _("is above"),
    "gte": _("is at least"),
    "lt": _("is below"),
    "lte": _("is at most"),
    "contains": _("contains"),
    "is_set": _("is set"),
}
ORDERED_OPS = ("gt", "gte", "lt", "lte")
ATTRIBUTE_PREFIX = "attributes."
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z](?:_?[A-Za-z0-9])*$")  # no "__": it would reach into nested values


@dataclass(frozen=True)
class ConditionField:
    """A field a condition may test: `type` is choice, text, int, date, user, tags or attribute; `choices`
    lists (value, label) for choice fields. The playbook editor builds its form from these."""

    name: str
    label: Any
    type: str
    ops: tuple[str, ...]
    choices: tuple[tuple[str, Any], ...] = ()


def _model_field(name: str) -> Field[Any, Any]:
    found = Account._meta.get_field(name)
    assert isinstance(found, Field)
    return found


def _label(name: str) -> Any:
    return _model_field(name).verbose_name


def _choices(name: str) -> tuple[tuple[str, Any], ...]:
    return tuple((str(value), label) for value, label in _model_field(name).choices or ())


EQUALITY = ("eq", "ne", "in", "not_in", "is_set")
TEXT_OPS = (*EQUALITY, "contains")
ORDER_OPS = (*EQUALITY, *ORDERED_OPS)
ALL_OPS = tuple(OPS)


def condition_fields() -> list[ConditionField]:
    """Every field a condition may name, with its Japanese label and the operators it takes. A custom
    attribute is named "attributes.<key>" (the entry "attributes." stands for all of them)."""
    return [
        ConditionField("kind", _label("kind"), "choice", EQUALITY, _choices("kind")),
        ConditionField("tier", _label("tier"), "choice", EQUALITY, _choices("tier")),
        ConditionField("lifecycle_stage", _label("lifecycle_stage"), "choice", EQUALITY, _choices("lifecycle_stage")),
        ConditionField("industry", _label("industry"), "text", TEXT_OPS),
        ConditionField("owner", _label("owner"), "user", EQUALITY),
        ConditionField("mrr", _label("mrr"), "int", ORDER_OPS),
        ConditionField("next_renewal_date", _label("next_renewal_date"), "date", ORDER_OPS),
        ConditionField("tags", _("tags"), "tags", TEXT_OPS),
        ConditionField(ATTRIBUTE_PREFIX, _("custom attribute"), "attribute", ALL_OPS),
    ]


COLUMNS = {"kind": "kind", "tier": "tier", "lifecycle_stage": "lifecycle_stage", "industry": "industry"}
COLUMNS |= {"owner": "owner_id", "mrr": "mrr", "next_renewal_date": "next_renewal_date"}


def _field(name: str) -> ConditionField | None:
    fields = {f.name: f for f in condition_fields()}
    if name.startswith(ATTRIBUTE_PREFIX):
        return fields[ATTRIBUTE_PREFIX] if ATTRIBUTE_KEY.match(name.removeprefix(ATTRIBUTE_PREFIX)) else None
    return fields.get(name)


def _scalar(field: ConditionField, value: Any, path: str) -> Any:
    """One value in the type the field compares, or a ValidationError naming `path`."""
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise ValidationError({path: _("Enter a value.")})
    if field.type in ("int", "user"):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int):
            raise ValidationError({path: _("Enter a whole number.")})
        return value
    if field.type == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValidationError({path: _("Enter a date as YYYY-MM-DD.")}) from None
    if field.type == "attribute":
        if not isinstance(value, str | int | float):
            raise ValidationError({path: _("Enter a value.")})
        return value
    value = str(value).strip()
    if not value:
        raise ValidationError({path: _("Enter a value.")})
    if field.choices and value not in {choice for choice, _label in field.choices}:
        raise ValidationError({path: _("Choose one of: %(expected)s.") % {"expected": _options(field)}})
    return value


def _options(field: ConditionField) -> str:
    return ", ".join(value for value, _label in field.choices)


def validate_conditions(conditions: Any) -> list[dict[str, Any]]:
    """Check a playbook's conditions and return them normalised ([{"field", "op", "value"}, ...]).

    Raises ValidationError whose keys name the part at fault: "conditions", "conditions.0.field",
    "conditions.1.value"... (`banso.api.schemas.validation_errors` turns it into the API's 422 list)."""
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        raise ValidationError({"conditions": _("Conditions must be a list.")})
    if len(conditions) > 20:
        raise ValidationError({"conditions": _("At most %(n)s conditions.") % {"n": 20}})
    errors: dict[str, list[Any]] = {}
    cleaned = []
    for index, item in enumerate(conditions):
        path = f"conditions.{index}"
        try:
            cleaned.append(_condition(item, path))
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _condition(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationError({path: _("A condition needs a field, an operator and a value.")})
    unknown = set(item) - {"field", "op", "value"}
    if unknown:
        raise ValidationError({f"{path}.{sorted(unknown)[0]}": _("Unknown field.")})
    name = str(item.get("field") or "")
    field = _field(name)
    if field is None:
        raise ValidationError({f"{path}.field": _("Unknown field “%(field)s”.") % {"field": name}})
    op = str(item.get("op") or "")
    if op not in field.ops:
        raise ValidationError({f"{path}.op": _("Choose one of: %(expected)s.") % {"expected": ", ".join(field.ops)}})
    value = item.get("value")
    if op == "is_set":
        if value is None:
            value = True
        if not isinstance(value, bool):
            raise ValidationError({f"{path}.value": _("Enter true or false.")})
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValidationError({f"{path}.value": _("Give a non-empty list of values.")})
        value = [_scalar(field, v, f"{path}.value") for v in value]
    else:
        value = _scalar(field, value, f"{path}.value")
        if op in ORDERED_OPS and field.type == "attribute" and not isinstance(value, int | float):
            try:
                value = dt.date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise ValidationError({f"{path}.value": _("Compare with a number or a date (YYYY-MM-DD).")}) from None
    return {"field": name, "op": op, "value": value}


# The filter ------------------------------------------------------------------------------------------


def conditions_q(conditions: list[dict[str, Any]]) -> Q:
    """All the (validated) conditions as one filter on Account."""
    q = Q()
    for condition in conditions:
        q &= _q(condition["field"], condition["op"], condition["value"])
    return q


def _q(name: str, op: str, value: Any) -> Q:
    if name == "tags":
        return _tag_q(op, value)
    if name.startswith(ATTRIBUTE_PREFIX):
        key = name.removeprefix(ATTRIBUTE_PREFIX)
        lookup = f"attributes__{key}"
        if op == "is_set":
            present = Q(attributes__has_key=key) & ~Q(**{f"{lookup}__isnull": True}) & ~Q(**{lookup: ""})
            return present if value else ~present
        if op in ("ne", "not_in"):
            # A missing key is "not equal" too (the plain negation would drop accounts without the key).
            return ~Q(attributes__has_key=key) | ~_q(name, "eq" if op == "ne" else "in", value)
        if op == "contains":
            return Q(**{f"{lookup}__icontains": value})
        return Q(**{lookup if op == "eq" else f"{lookup}__{op}": value})
    column = COLUMNS[name]
    if op == "is_set":
        present = Q(**{f"{column}__isnull": False})
        if name in ("industry", "kind", "tier", "lifecycle_stage"):
            present &= ~Q(**{column: ""})
        return present if value else ~present
    if op == "eq":
        return Q(**{column: value})
    if op == "ne":
        return ~Q(**{column: value})
    if op == "in":
        return Q(**{f"{column}__in": value})
    if op == "not_in":
        return ~Q(**{f"{column}__in": value})
    if op == "contains":
        return Q(**{f"{column}__icontains": value})
    return Q(**{f"{column}__{op}": value})


def _tag_q(op: str, value: Any) -> Q:
    tags = AccountTag.objects.filter(account_id=OuterRef("pk"))
    if op == "is_set":
        return Q(Exists(tags)) if value else ~Q(Exists(tags))
    if op in ("eq", "ne"):
        found = Q(Exists(tags.filter(name=value)))
    elif op in ("in", "not_in"):
        found = Q(Exists(tags.filter(name__in=value)))
    else:
        found = Q(Exists(tags.filter(name__icontains=value)))
    return ~found if op in ("ne", "not_in") else found
