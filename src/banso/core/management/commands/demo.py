"""`banso demo`: build a realistic, deterministic demo workspace (see `banso.core.demo`)."""

import importlib
import time
from datetime import date
from types import ModuleType
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from banso.core.demo import (
    ACCOUNTS_PER_CSM,
    DEFAULT_ACCOUNTS,
    DEFAULT_CSMS,
    DEFAULT_EVENTS_PER_ACCOUNT_DAY,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DemoContext,
    Progress,
)


def demo_modules() -> list[ModuleType]:
    """`banso.<app>.demo` of every installed Banso app that has one, in INSTALLED_APPS order."""
    modules = []
    for config in apps.get_app_configs():
        if not config.name.startswith("banso."):
            continue
        name = f"{config.name}.demo"
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return modules


def run_demo(ctx: DemoContext, only: tuple[str, ...] | None = None) -> DemoContext:
    """Reset (if asked) in reverse app order, then build in app order (`only`: just these app labels)."""
    modules = [m for m in demo_modules() if only is None or m.__name__.split(".")[1] in only]
    if ctx.reset:
        for module in reversed(modules):
            if hasattr(module, "reset"):
                module.reset(ctx)
        ctx.progress("previous demo data removed")
    for module in modules:
        module.build(ctx)
    return ctx


def default_csms(accounts: int) -> int:
    if accounts == DEFAULT_ACCOUNTS:
        return DEFAULT_CSMS
    return max(1, round(accounts / ACCOUNTS_PER_CSM))


class Command(BaseCommand):
    help = "Build the demo workspace: users, accounts, contracts and three years of events (deterministic)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS, help="number of customer accounts")
        parser.add_argument("--csms", type=int, default=None, help="number of CSMs (default: 1 per 93 accounts)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--today", default=None, help="reference date YYYY-MM-DD (default: today in Tokyo)")
        parser.add_argument(
            "--events-per-account-day",
            type=float,
            default=DEFAULT_EVENTS_PER_ACCOUNT_DAY,
            help="usage events per active account per day (controls the event volume)",
        )
        parser.add_argument("--events", type=int, default=None, help="aim at this many events in total instead")
        parser.add_argument("--reset", action="store_true", help="remove the previous demo data first")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = options["accounts"]
        if accounts < 1:
            raise CommandError("--accounts must be at least 1")
        try:
            today = date.fromisoformat(options["today"]) if options["today"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--today: {exc}") from exc
        ctx = DemoContext(
            seed=options["seed"],
            accounts=accounts,
            csms=options["csms"] or default_csms(accounts),
            today=today,
            events_per_account_day=options["events_per_account_day"],
            events_target=options["events"],
            reset=options["reset"],
            progress=Progress(quiet=options["verbosity"] == 0),
        )
        started = time.monotonic()
        run_demo(ctx)
        written = ", ".join(f"{k} {v:,}" for k, v in ctx.written.items())
        csm = ctx.shared["csms"][0].username if ctx.shared.get("csms") else "csm01"
        self.stdout.write(
            f"Demo workspace ready in {time.monotonic() - started:.1f} s (new: {written or 'nothing'}).\n"
            f"Sign in as admin / {DEMO_PASSWORD}  (ops manager: ops, CSM: {csm}, support: support, "
            f"viewer: viewer, merchant: merchant; same password)"
        )
