"""Merge fields in task titles, mail and webhook text: Django's template language on plain data, checked at
save time so an unknown field ({{ acount.name }}) is refused while the template is edited, not at send time.

The engine is sandboxed: no loaders, no tag libraries beyond if/for/with/firstof/comment, and the context
holds plain dicts (never model instances), so a template cannot reach related rows or methods."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, FirstOfNode, ForNode, IfNode, WithNode
from django.utils.translation import gettext as _

from banso.accounts.models import Account, Contact
from banso.core.models import User

from .models import Playbook

ENGINE = Engine(autoescape=False, libraries={}, loaders=[], string_if_invalid="")
ALLOWED_NODES = (TextNode, VariableNode, IfNode, ForNode, WithNode, FirstOfNode, CommentNode)
ANY = None  # below this key anything goes (custom attributes)

# The merge fields a template may use, as a tree; shown on the template pages.
FIELDS: dict[str, Any] = {
    "account": {
        "id": {},
        "name": {},
        "name_kana": {},
        "kind": {},
        "tier": {},
        "lifecycle_stage": {},
        "industry": {},
        "mrr": {},
        "next_renewal_date": {},
        "attributes": ANY,
    },
    "contact": {"name": {}, "email": {}, "title": {}},
    "owner": {"name": {}, "email": {}},
    "playbook": {"name": {}},
    "company": {"name": {}},
}


def field_names() -> list[str]:
    """The merge fields as `{{ a.b }}` paths, for the editor's help."""
    names = []
    for top, children in FIELDS.items():
        for child, below in children.items():
            names.append(f"{top}.{child}" + (".<key>" if below is ANY else ""))
    return names


# Checking --------------------------------------------------------------------------------------------


def _check_variable(var: Any, scope: set[str], unknown: list[str], fields: dict[str, Any]) -> None:
    if not isinstance(var, Variable) or var.lookups is None:
        return
    path = var.lookups
    if path[0] in scope:
        return
    tree: Any = fields
    for depth, bit in enumerate(path):
        if tree is ANY:
            return
        if bit not in tree:
            unknown.append(".".join(path[: depth + 1]))
            return
        tree = tree[bit]


def _check_expression(expr: Any, scope: set[str], unknown: list[str], fields: dict[str, Any]) -> None:
    if not isinstance(expr, FilterExpression):
        return
    _check_variable(expr.var, scope, unknown, fields)
    for _func, args in expr.filters:
        for _lookup, arg in args:
            _check_variable(arg, scope, unknown, fields)


def _check_condition(cond: Any, scope: set[str], unknown: list[str], fields: dict[str, Any]) -> None:
    """An {% if %} condition: a literal (with .value) or an operator (with .first and .second)."""
    if cond is None:
        return
    if hasattr(cond, "value"):
        _check_expression(cond.value, scope, unknown, fields)
    for side in ("first", "second"):
        if getattr(cond, side, None) is not None:
            _check_condition(getattr(cond, side), scope, unknown, fields)


def _check_nodes(
    nodes: Any, scope: set[str], unknown: list[str], refused: list[str], fields: dict[str, Any] = FIELDS
) -> None:
    for node in nodes:
        if not isinstance(node, ALLOWED_NODES):
            token = getattr(node, "token", None)
            refused.append(token.contents.split()[0] if token else type(node).__name__)
            continue
        if isinstance(node, VariableNode):
            _check_expression(node.filter_expression, scope, unknown, fields)
        elif isinstance(node, IfNode):
            for cond, branch in node.conditions_nodelists:
                _check_condition(cond, scope, unknown, fields)
                _check_nodes(branch, scope, unknown, refused, fields)
        elif isinstance(node, ForNode):
            _check_expression(node.sequence, scope, unknown, fields)
            _check_nodes(node.nodelist_loop, scope | set(node.loopvars) | {"forloop"}, unknown, refused, fields)
            _check_nodes(node.nodelist_empty, scope, unknown, refused, fields)
        elif isinstance(node, WithNode):
            for expr in node.extra_context.values():
                _check_expression(expr, scope, unknown, fields)
            _check_nodes(node.nodelist, scope | set(node.extra_context), unknown, refused, fields)
        elif isinstance(node, FirstOfNode):
            for expr in node.vars:
                _check_expression(expr, scope, unknown, fields)


def check(text: str, fields: dict[str, Any] | None = None, sample: dict[str, Any] | None = None) -> list[str]:
    """What is wrong with a template, as messages (empty when it is fine): syntax errors, tags that are not
    allowed, unknown merge fields. Rendering against a sample catches errors filters raise.

    `fields` and `sample` default to the playbooks' account fields; other senders (billing's member
    newsletters) pass their own tree and stand-in values."""
    try:
        template = ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        return [_("Template error: %(error)s") % {"error": exc}]
    unknown: list[str] = []
    refused: list[str] = []
    _check_nodes(template.nodelist, set(), unknown, refused, FIELDS if fields is None else fields)
    errors = []
    if refused:
        errors.append(_("These tags are not allowed: %(tags)s") % {"tags": ", ".join(sorted(set(refused)))})
    if unknown:
        names = ", ".join("{{ %s }}" % name for name in dict.fromkeys(unknown))  # noqa: UP031
        errors.append(_("Unknown merge fields: %(names)s") % {"names": names})
    if not errors:
        try:
            template.render(Context(sample_context() if sample is None else sample))
        except Exception as exc:  # any failure of a filter on sample data is the user's error
            errors.append(_("Template error: %(error)s") % {"error": exc})
    return errors


def validate(text: str, field: str, fields: dict[str, Any] | None = None, sample: dict[str, Any] | None = None) -> None:
    """Raise ValidationError naming `field` when `text` is not a usable template."""
    errors = check(text, fields, sample)
    if errors:
        raise ValidationError({field: errors})


# Rendering -------------------------------------------------------------------------------------------


def _person(user: User | None) -> dict[str, Any]:
    return {"name": str(user) if user else "", "email": user.email if user else ""}


def context_for(
    account: Account, *, contact: Contact | None = None, playbook: Playbook | None = None
) -> dict[str, Any]:
    """The merge fields for one account (and the contact a mail goes to)."""
    return {
        "account": {
            "id": account.pk,
            "name": account.name,
            "name_kana": account.name_kana,
            "kind": account.get_kind_display(),
            "tier": account.get_tier_display(),
            "lifecycle_stage": account.get_lifecycle_stage_display(),
            "industry": account.industry,
            "mrr": account.mrr,
            "next_renewal_date": account.next_renewal_date,
            "attributes": dict(account.attributes or {}),
        },
        "contact": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
            "title": contact.title if contact else "",
        },
        "owner": _person(account.owner if account.owner_id else None),
        "playbook": {"name": playbook.name if playbook else ""},
        "company": {"name": settings.BANSO_COMPANY_NAME},
    }


def sample_context() -> dict[str, Any]:
    """Stand-in values for checking and for previews without an account."""
    return {
        "account": {
            "id": 0,
            "name": "株式会社サンプル",
            "name_kana": "さんぷる",
            "kind": "顧客",
            "tier": "ロータッチ",
            "lifecycle_stage": "活用",
            "industry": "小売",
            "mrr": 50000,
            "next_renewal_date": None,
            "attributes": {},
        },
        "contact": {"name": "山田 太郎", "email": "taro@example.jp", "title": "部長"},
        "owner": {"name": "担当 花子", "email": "hanako@example.jp"},
        "playbook": {"name": "サンプル"},
        "company": {"name": settings.BANSO_COMPANY_NAME},
    }


@lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    """Templates are parsed once per process: a run's steps render the same few texts for many accounts."""
    return ENGINE.from_string(text)


def render(text: str, context: dict[str, Any]) -> str:
    return _compiled(text).render(Context(context))
