"""`banso marketplace` actions of the providers area.

banso marketplace provider-status EXTERNAL_ID STATUS --reason "..." [--source S]
    change a provider's status (audited; the booking platform is told when its webhook is configured)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from . import providers
from .incidents_cli import provider_by_external_id
from .models import Provider, ProviderStatus


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    status = actions.add_parser("provider-status", help="Change a provider's status (active, warned, on_hold …).")
    status.add_argument("external_id")
    status.add_argument("status", choices=ProviderStatus.values)
    status.add_argument("--reason", required=True)
    status.add_argument("--source", default="", help="the provider's source (when the id is in several)")
    status.set_defaults(run=run_status)


def run_status(command: Any, **options: Any) -> None:
    account = provider_by_external_id(options["external_id"], options["source"])
    provider = Provider.objects.select_related("account").get(pk=account.pk)
    try:
        changed = providers.set_status(provider, options["status"], actor=None, reason=options["reason"], via="cli")
    except providers.ProviderError as error:
        raise CommandError(f"{error.field}: {error.message}") from None
    if changed:
        command.stdout.write(f"{account.name} ({account.external_id}): {options['status']}")
    else:
        command.stdout.write(f"{account.name} ({account.external_id}) was already {options['status']}; nothing changed")
