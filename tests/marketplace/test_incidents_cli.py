"""`banso marketplace incidents` and `banso marketplace provider-status` from the command line."""

import io

import pytest
from django.core.management import CommandError, call_command

from banso.core.models import AuditEntry
from banso.marketplace.models import ProviderStatus

from .factories import IncidentFactory, ProviderAccountFactory, ProviderFactory
from .factories_incidents import reported

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("marketplace", *args, stdout=out)
    return out.getvalue()


def test_incidents_table_filters_by_provider_and_status():
    provider = ProviderFactory(account=ProviderAccountFactory(external_id="shop-7"))
    mine = IncidentFactory(provider=provider.account)
    waiting = reported(provider=provider.account)
    other = IncidentFactory()
    text = run("incidents", "--provider", "shop-7")
    assert mine.number in text and waiting.number in text and other.number not in text
    assert text.index(waiting.number) < text.index(mine.number)  # awaiting confirmation first
    assert "2 incident(s)" in text
    only = run("incidents", "--provider", "shop-7", "--status", "reported")
    assert waiting.number in only and mine.number not in only
    with pytest.raises(CommandError):
        run("incidents", "--provider", "nobody")


def test_provider_status_changes_and_audits():
    provider = ProviderFactory(account=ProviderAccountFactory(external_id="shop-9"))
    text = run("provider-status", "shop-9", "on_hold", "--reason", "無断キャンセル3回")
    assert "on_hold" in text
    provider.refresh_from_db()
    assert provider.status == ProviderStatus.ON_HOLD and provider.status_reason == "無断キャンセル3回"
    entry = AuditEntry.objects.get(object_type="marketplace.provider", object_id=str(provider.pk))
    assert entry.via == "cli" and entry.changes["status"] == ["active", "on_hold"]
    assert "nothing changed" in run("provider-status", "shop-9", "on_hold", "--reason", "again")
