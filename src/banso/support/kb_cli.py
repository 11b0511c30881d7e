"""`banso support ...` actions of the kb area (see management/commands/support.py): `kb-eval` (search quality
of each mode on the Japanese FAQ set), `kb-reindex` (recompute published articles' embeddings), `kb-import
FILE.json|csv` (articles, categories and synonyms, all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    parser = actions.add_parser("kb-eval", help="Recall@1, recall@5 and MRR of lexical, semantic and hybrid search.")
    parser.add_argument("--queries", help="query set JSON ([{query, slug}]; default: the shipped Japanese set)")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run_eval)

    parser = actions.add_parser("kb-reindex", help="Recompute the search embeddings of published articles.")
    parser.set_defaults(run=run_reindex)

    parser = actions.add_parser("kb-import", help="Import FAQ articles from JSON or CSV (all or nothing).")
    parser.add_argument("file", help="JSON ({categories, articles, synonyms} or a list) or CSV (slug,title,body,…)")
    parser.add_argument("--draft", action="store_true", help="import as drafts instead of publishing")
    parser.set_defaults(run=run_import)


def run_eval(command: Any, *, queries: str | None = None, as_json: bool = False, **_options: Any) -> None:
    from .search_eval import evaluate, table

    rows = json.loads(Path(queries).read_text(encoding="utf-8")) if queries else None
    results = evaluate(rows)
    if as_json:
        command.stdout.write(json.dumps([r.__dict__ for r in results], ensure_ascii=False))
        return
    command.stdout.write(table(results))
    best = max(results, key=lambda r: (r.mrr, r.recall_at_5))
    command.stdout.write(f"best: {best.mode}; shipped (SUPPORT_SEARCH_MODE): {settings.SUPPORT_SEARCH_MODE}")


def run_reindex(command: Any, **_options: Any) -> None:
    from .search import invalidate, reindex_embeddings

    count = reindex_embeddings()
    invalidate()
    command.stdout.write(f"{count:,} published articles re-embedded")


def run_import(command: Any, *, file: str, draft: bool = False, **_options: Any) -> None:
    from .kb import KbImportError, import_articles, read_import

    path = Path(file)
    if not path.is_file():
        raise CommandError(f"No such file: {file}")
    try:
        result = import_articles(read_import(path.read_bytes(), path.name), None, publish_all=not draft)
    except KbImportError as error:
        lines = "\n".join(f"  row {row} {field}: {message}" for row, field, message in error.errors)
        raise CommandError(f"{path.name} was not imported (nothing changed):\n{lines}") from None
    command.stdout.write(
        f"{result.created:,} new, {result.updated:,} updated, {result.published:,} published, "
        f"{result.synonyms:,} synonym groups"
    )
