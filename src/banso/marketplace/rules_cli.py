"""`banso marketplace evaluate [--dry-run] [--provider EXT ...]`: evaluate the active threshold rules now and print
what fired (or, with --dry-run, what would fire: nothing is saved or sent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone, translation


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    evaluate = actions.add_parser("evaluate", help="Evaluate the threshold rules now and print what fired.")
    evaluate.add_argument("--dry-run", action="store_true", help="show what would fire; save and send nothing")
    evaluate.add_argument(
        "--provider", action="append", default=[], metavar="EXT", help="only this provider (external id); repeatable"
    )
    evaluate.set_defaults(run=run_evaluate)


def _provider_ids(externals: list[str]) -> list[int] | None:
    from banso.accounts.choices import AccountKind
    from banso.accounts.models import Account

    if not externals:
        return None
    ids = []
    for ext in externals:
        found = list(Account.objects.filter(external_id=ext, kind=AccountKind.PROVIDER).values_list("pk", flat=True))
        if not found:
            raise CommandError(f"--provider: no provider with external id {ext!r}")
        if len(found) > 1:
            raise CommandError(f"--provider: {ext!r} names {len(found)} providers (several sources)")
        ids.append(found[0])
    return ids


def run_evaluate(command: Any, *, dry_run: bool = False, provider: list[str] | None = None, **_options: Any) -> None:
    from . import rules

    ids = _provider_ids(provider or [])
    with translation.override(settings.LANGUAGE_CODE):
        result = rules.evaluate(timezone.now(), provider_ids=ids, dry_run=dry_run)
        verb = "would fire" if dry_run else "fired"
        for f in result.firings:
            plan = f.plan
            cancels = sum(1 for b in plan["bookings"] if b["action"] == "cancel")
            no_address = sum(1 for m in plan["messages"] if not m["to"])
            ref = "" if dry_run else f" firing {f.pk} ({f.status})"
            command.stdout.write(
                f"{plan['rule']['name']} {verb} for {plan['provider']['name']} (id {f.provider_id}, score {f.score}):"
                f"{ref} warn={plan['warn']} hold={plan['hold']} bookings={len(plan['bookings'])} cancel={cancels} "
                f"messages={len(plan['messages'])} no_address={no_address}"
            )
        command.stdout.write(
            f"{result.providers} providers evaluated, {len(result.firings)} {verb}, {result.executed} executed"
            + (f", {result.already_fired} already fired" if result.already_fired else "")
        )
