"""The service-category tree and the inquiry-type list: importing the tree from CSV or Excel (all or nothing),
keeping every category's `path` ("親 > 子 > 孫") right when a category is renamed or moved, and retiring
categories that are in use instead of deleting them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .desk import DeskError
from .models import Category, InquiryType

SEPARATOR = " > "
# Accepted header names per column (English keys, Japanese as exported by the marketplace's own tools).
HEADERS = {
    "code": ("code", "コード", "カテゴリコード"),
    "name": ("name", "名前", "名称", "カテゴリ名"),
    "parent_code": ("parent_code", "parent", "親コード", "親カテゴリコード"),
}


class CategoryImportError(Exception):
    """The file was refused; `errors` lists (row number, message), nothing was written."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"{row}: {message}" for row, message in errors[:20]))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    codes: list[str] = field(default_factory=list)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or cp932 (Excel's "CSV" on Japanese Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise CategoryImportError([(0, _("The file is neither UTF-8 nor Shift_JIS (cp932)."))]) from None


def read_rows(data: bytes, filename: str = "") -> list[list[str]]:
    """The file's rows as lists of strings (header included)."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as error:
            raise CategoryImportError([(0, _("The Excel file cannot be read: %(error)s") % {"error": error})]) from None
        rows = [
            ["" if v is None else str(v).strip() for v in row] for row in book.worksheets[0].iter_rows(values_only=True)
        ]
        book.close()
        return rows
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(decode(data)))]


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    lowered = [h.strip().lower() for h in header]
    for key, names in HEADERS.items():
        for name in names:
            if name.lower() in lowered:
                found[key] = lowered.index(name.lower())
                break
    missing = [k for k in ("code", "name") if k not in found]
    if missing:
        raise CategoryImportError([(1, _("Missing column(s): %(columns)s") % {"columns": ", ".join(missing)})])
    return found


def find_cycle(parents: dict[str, str | None]) -> list[str] | None:
    """A chain of codes that leads back to itself, if the parent links have one."""
    done: set[str] = set()
    for start in parents:
        seen: list[str] = []
        code: str | None = start
        while code is not None and code not in done:
            if code in seen:
                return [*seen[seen.index(code) :], code]
            seen.append(code)
            code = parents.get(code)
        done.update(seen)
    return None


def compute_paths(nodes: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """code -> "親 > 子" for a tree given as code -> (name, parent code); the tree must have no cycles."""
    paths: dict[str, str] = {}

    def path_of(code: str) -> str:
        if code in paths:
            return paths[code]
        chain = []
        current: str | None = code
        while current is not None and current not in paths:
            chain.append(current)
            current = nodes[current][1]
        prefix = paths[current] if current is not None else ""
        for c in reversed(chain):
            prefix = f"{prefix}{SEPARATOR}{nodes[c][0]}" if prefix else nodes[c][0]
            paths[c] = prefix
        return paths[code]

    for code in nodes:
        path_of(code)
    return paths


@transaction.atomic
def import_categories(data: bytes, filename: str = "", actor: User | None = None) -> ImportResult:
    """Create or update categories by code from a file (code, name, parent_code). Parents may come after
    their children, or already exist in the tree. Any bad row refuses the whole file."""
    rows = read_rows(data, filename)
    if not rows:
        raise CategoryImportError([(0, _("The file is empty."))])
    cols = _columns(rows[0])
    errors: list[tuple[int, str]] = []
    incoming: dict[str, tuple[str, str | None, int]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue

        def cell(key: str, row: list[str] = row) -> str:
            index = cols.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        code, name, parent = cell("code"), cell("name"), cell("parent_code")
        if not code:
            errors.append((number, _("code is empty")))
            continue
        if len(code) > 50:
            errors.append((number, _("code is longer than 50 characters")))
        if not name:
            errors.append((number, _("name is empty")))
        elif len(name) > 100:
            errors.append((number, _("name is longer than 100 characters")))
        if code in incoming:
            errors.append(
                (number, _("code %(code)s appears twice (also row %(row)d)") % {"code": code, "row": incoming[code][2]})
            )
            continue
        if parent == code:
            errors.append((number, _("%(code)s cannot be its own parent") % {"code": code}))
            continue
        incoming[code] = (name, parent or None, number)
    existing = {c.code: c for c in Category.objects.all()}
    for _code, (_name, parent_code, line) in incoming.items():
        if parent_code and parent_code not in incoming and parent_code not in existing:
            errors.append((line, _("parent_code %(parent)s is not a known category") % {"parent": parent_code}))
    # The tree after the import: existing categories keep their parents unless the file moves them.
    code_of = {c.pk: c.code for c in existing.values()}
    tree: dict[str, tuple[str, str | None]] = {
        c.code: (c.name, code_of.get(c.parent_id) if c.parent_id else None) for c in existing.values()
    }
    tree.update({code: (name, parent) for code, (name, parent, _n) in incoming.items()})
    if not errors:
        cycle = find_cycle({code: parent for code, (_name, parent) in tree.items()})
        if cycle:
            line = incoming[cycle[0]][2] if cycle[0] in incoming else 0
            errors.append((line, _("the parents form a cycle: %(chain)s") % {"chain": " → ".join(cycle)}))
    if errors:
        errors.sort()
        raise CategoryImportError(errors)
    result = ImportResult(rows=len(incoming))
    by_code = dict(existing)
    new = [
        Category(code=code, name=name, position=position)
        for position, (code, (name, _parent, _n)) in enumerate(incoming.items())
        if code not in existing
    ]
    for category in new:
        category.save()  # one by one: the parents' ids are needed below (a few hundred rows)
        by_code[category.code] = category
    result.created = len(new)
    changed = []
    for code, (name, parent_code, _n) in incoming.items():
        category = by_code[code]
        parent_id = by_code[parent_code].pk if parent_code else None
        if category.parent_id != parent_id or category.name != name:
            category.parent_id, category.name = parent_id, name
            changed.append(category)
    Category.objects.bulk_update(changed, ["parent", "name"], batch_size=1000)
    result.updated = len([c for c in changed if c.code in existing])
    result.unchanged = len(incoming) - result.created - result.updated
    rebuild_paths()
    result.codes = list(incoming)
    return result


def rebuild_paths() -> int:
    """Recompute every category's path from the tree (a few hundred rows: one read, one bulk update)."""
    categories = list(Category.objects.all())
    code_of = {c.pk: c.code for c in categories}
    nodes = {c.code: (c.name, code_of.get(c.parent_id) if c.parent_id else None) for c in categories}
    paths = compute_paths(nodes)
    changed = [c for c in categories if c.path != paths[c.code]]
    for c in changed:
        c.path = paths[c.code][:500]
    Category.objects.bulk_update(changed, ["path"], batch_size=1000)
    return len(changed)


def _descendant_ids(category: Category) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    out: set[int] = set()
    stack = [category.pk]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


@transaction.atomic
def save_category(
    category: Category | None,
    *,
    code: str,
    name: str,
    parent: Category | None,
    position: int = 0,
    active: bool = True,
    actor: User | None = None,
) -> Category:
    """Create or change one category (rename, move): its own and its descendants' paths follow."""
    code, name = code.strip(), name.strip()
    if not code:
        raise DeskError("code", _("The code is empty."))
    if not name:
        raise DeskError("name", _("The name is empty."))
    if Category.objects.filter(code=code).exclude(pk=category.pk if category else 0).exists():
        raise DeskError("code", _("Another category already has the code %(code)s.") % {"code": code})
    fields = ["code", "name", "parent", "position", "active"]
    if (
        category is not None
        and parent is not None
        and (parent.pk == category.pk or parent.pk in _descendant_ids(category))
    ):
        raise DeskError("parent", _("A category cannot be moved under itself or one of its descendants."))
    before = snapshot(category, fields) if category else None
    if category is None:
        category = Category(code=code)
    category.code, category.name, category.parent, category.position, category.active = (
        code,
        name,
        parent,
        position,
        active,
    )
    category.save()
    rebuild_paths()
    category.refresh_from_db()
    record_change(
        actor=actor,
        obj=category,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        before=before,
        after=snapshot(category, fields),
        account_id=None,
    )
    return category


def in_use(category: Category) -> bool:
    return category.inquiries.exists() or category.articles.exists() or category.children.exists()


@transaction.atomic
def remove_category(category: Category, actor: User | None = None) -> bool:
    """Delete an unused category; one with inquiries, articles or sub-categories is deactivated instead (its
    history stays filed under it). True when it was deleted."""
    before = snapshot(category, ["active"])
    if in_use(category):
        category.active = False
        category.save(update_fields=["active"])
        record_change(
            actor=actor,
            obj=category,
            action=AuditAction.UPDATE,
            before=before,
            after={"active": False},
            account_id=None,
        )
        return False
    record_change(actor=actor, obj=category, action=AuditAction.DELETE, before=before, after=None, account_id=None)
    category.delete()
    return True


def tree_rows(active_only: bool = False) -> list[dict[str, Any]]:
    """Categories in path order with their depth and usage counts (for the list page)."""
    from django.db.models import Count

    qs = Category.objects.annotate(inquiry_count=Count("inquiries", distinct=True)).order_by("path")
    if active_only:
        qs = qs.filter(active=True)
    return [{"category": c, "depth": c.path.count(SEPARATOR), "inquiries": c.inquiry_count} for c in qs]


# Inquiry types ------------------------------------------------------------------------------------------


@transaction.atomic
def save_type(
    inquiry_type: InquiryType | None,
    *,
    name: str,
    group: str = "",
    description: str = "",
    active: bool = True,
    actor: User | None = None,
) -> InquiryType:
    name = name.strip()
    if not name:
        raise DeskError("name", _("The name is empty."))
    if InquiryType.objects.filter(name=name).exclude(pk=inquiry_type.pk if inquiry_type else 0).exists():
        raise DeskError("name", _("Another inquiry type is already called %(name)s.") % {"name": name})
    fields = ["name", "group", "description", "active"]
    before = snapshot(inquiry_type, fields) if inquiry_type else None
    inquiry_type = inquiry_type or InquiryType()
    inquiry_type.name, inquiry_type.group, inquiry_type.description, inquiry_type.active = (
        name,
        group.strip(),
        description.strip(),
        active,
    )
    inquiry_type.save()
    record_change(
        actor=actor,
        obj=inquiry_type,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        before=before,
        after=snapshot(inquiry_type, fields),
        account_id=None,
    )
    return inquiry_type


def ensure_types(names: Iterable[tuple[str, str]]) -> list[InquiryType]:
    """(name, group) pairs as inquiry types, created when missing (the demo and tests)."""
    return [InquiryType.objects.get_or_create(name=name, defaults={"group": group})[0] for name, group in names]
