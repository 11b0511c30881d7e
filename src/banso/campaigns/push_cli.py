"""`banso campaigns` actions of the push area.

banso campaigns push-send ID        send a campaign now (in this process), print its counts
banso campaigns push-results ID     sync delivery results, print the campaign's figures as JSON
banso campaigns vapid-keys          print a new VAPID key pair for the settings (environment)
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    send = actions.add_parser("push-send", help="send a push campaign now")
    send.add_argument("campaign", type=int)
    send.set_defaults(run=_send)
    results = actions.add_parser("push-results", help="a push campaign's results (JSON)")
    results.add_argument("campaign", type=int)
    results.set_defaults(run=_results)
    keys = actions.add_parser("vapid-keys", help="generate a VAPID key pair for Web Push")
    keys.set_defaults(run=_keys)


def _campaign(pk: int) -> Any:
    from .models import PushCampaign

    campaign = PushCampaign.objects.filter(pk=pk).first()
    if campaign is None:
        raise CommandError(f"no push campaign {pk}")
    return campaign


def _send(command: Any, **options: Any) -> None:
    from . import push

    try:
        result = push.send(_campaign(options["campaign"]))
    except push.PushError as exc:
        raise CommandError(f"{exc.field}: {exc.message}") from exc
    command.stdout.write(json.dumps(result.as_dict()))


def _results(command: Any, **options: Any) -> None:
    from . import push

    campaign = _campaign(options["campaign"])
    push.sync_results(campaigns=[campaign])
    command.stdout.write(json.dumps(push.results(campaign), ensure_ascii=False))


def _keys(command: Any, **options: Any) -> None:
    from . import webpush

    for name, value in webpush.generate_keys().items():
        command.stdout.write(f"{name}={value}")
    command.stdout.write("CAMPAIGNS_VAPID_SUBJECT=mailto:you@example.jp")
