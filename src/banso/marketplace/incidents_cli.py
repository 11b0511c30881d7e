"""`banso marketplace` actions of the incidents area.

banso marketplace incidents [--provider EXT] [--source S] [--status S] [--type T] [--limit N]
    incidents as a table, those awaiting confirmation first
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import CommandError

from banso.accounts.models import Account

from . import incidents
from .models import IncidentStatus, IncidentType

TOKYO_FORMAT = "%Y-%m-%d %H:%M"


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    listing = actions.add_parser("incidents", help="List provider incidents (awaiting confirmation first).")
    listing.add_argument("--provider", default="", help="the provider's external id")
    listing.add_argument("--source", default="", help="the provider's source (when the id is in several)")
    listing.add_argument("--status", default="", choices=["", *IncidentStatus.values])
    listing.add_argument("--type", default="", choices=["", *IncidentType.values])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=run_incidents)


def provider_by_external_id(external_id: str, source: str = "") -> Account:
    """The provider account with this external id (in `source` when given); CommandError when none or several."""
    qs = Account.objects.filter(external_id=external_id, provider_profile__isnull=False)
    if source:
        qs = qs.filter(source=source)
    found = list(qs[:2])
    if not found:
        raise CommandError(f"no provider with external id {external_id!r}")
    if len(found) > 1:
        raise CommandError(f"several providers have external id {external_id!r}: give --source")
    return found[0]


def run_incidents(command: Any, **options: Any) -> None:
    data: dict[str, Any] = {"status": options["status"], "type": options["type"]}
    if options["provider"]:
        data["provider"] = provider_by_external_id(options["provider"], options["source"]).pk
    qs = incidents.filter_incidents(data)
    total = qs.count()
    out = command.stdout
    out.write(f"{'number':<12} {'occurred (JST)':<16} {'provider':<24} {'type':<15} sev {'status':<10} summary")
    tokyo = ZoneInfo("Asia/Tokyo")
    for incident in qs[: max(0, options["limit"])]:
        out.write(
            f"{incident.number:<12} {incident.occurred_at.astimezone(tokyo):{TOKYO_FORMAT}} "
            f"{incident.provider.name[:24]:<24} {incident.type:<15} {incident.severity:>3} {incident.status:<10} "
            f"{incident.summary}"
        )
    out.write(f"{total} incident(s)")
