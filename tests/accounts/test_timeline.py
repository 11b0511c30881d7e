import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.accounts.choices import ContractStatus
from banso.accounts.services import Cursor, timeline, update_account
from banso.activity.models import Event
from banso.core.choices import Role

from ..core.factories import UserFactory
from .factories import AccountFactory, ContactFactory, ContractFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def at(day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2025, 6, day, hour, tzinfo=UTC)


def test_timeline_merges_all_sources_newest_first():
    account = AccountFactory()
    ContractFactory(
        account=account,
        plan="ベーシック",
        start_date=datetime.date(2025, 6, 2),
        renewal_date=None,
        status=ContractStatus.CHURNED,
        churned_on=datetime.date(2025, 6, 8),
        churn_reason="予算",
    )
    ContactFactory(account=account, name="退職者", created_at=at(3), left_on=datetime.date(2025, 6, 6))
    Event.objects.create(source="s", external_id="a", account=account, kind="login", occurred_at=at(4))
    Event.objects.create(source="s", external_id="b", account=account, kind="booking", occurred_at=at(7))
    update_account(account, UserFactory(), industry="小売")  # now: the newest item

    items = timeline(account).items
    assert [i.kind for i in items] == ["audit", "contract", "event", "contact", "event", "contact", "contract"]
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)
    assert items[0].changes[0].after == "小売"
    assert "予算" in items[1].detail


def test_timeline_is_bounded_and_pages_without_gaps_or_repeats():
    account = AccountFactory()
    same_time = at(10)
    Event.objects.bulk_create(
        # Many events share a timestamp, which is what imports produce; the cursor must not skip them.
        Event(
            source="s",
            external_id=str(i),
            account=account,
            kind=f"k{i}",
            occurred_at=same_time if i % 2 else at(1 + i % 9),
        )
        for i in range(37)
    )
    ContractFactory(account=account, start_date=datetime.date(2025, 6, 10), renewal_date=None)
    seen = []
    page = timeline(account, limit=10)
    while True:
        assert len(page.items) <= 10
        seen.extend((i.kind, i.id) for i in page.items)
        if not page.next_cursor:
            break
        page = timeline(account, before=page.next_cursor, limit=10)
    assert len(seen) == 37 + 1 + 0  # events + contract start (no renewal, contact none)
    assert len(set(seen)) == len(seen)


def test_a_malformed_cursor_is_refused():
    account = AccountFactory()
    with pytest.raises(ValueError):
        timeline(account, before="yesterday")
    with pytest.raises(ValueError):
        Cursor.decode("2025-01-01T00:00:00~1~x")


def test_more_button_loads_the_next_page_as_a_partial(client_as):
    account = AccountFactory()
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source="s",
            external_id=str(i),
            account=account,
            kind=f"kind-{i:03d}",
            occurred_at=now - datetime.timedelta(minutes=i),
        )
        for i in range(60)
    )
    client = client_as(Role.VIEWER)
    first = client.get(reverse("accounts:detail", args=[account.pk]))
    cursor = first.context["timeline"].next_cursor
    assert cursor
    assert "kind-049" in first.content.decode() and "kind-050" not in first.content.decode()
    more = client.get(
        reverse("accounts:timeline", args=[account.pk]), {"before": cursor}, headers={"HX-Request": "true"}
    )
    html = more.content.decode()
    assert more.status_code == 200
    assert "kind-050" in html and "kind-059" in html and "kind-049" not in html
    assert "<html" not in html
    bad = client.get(reverse("accounts:timeline", args=[account.pk]), {"before": "nope"})
    assert bad.status_code == 400


def test_event_kinds_show_by_name_and_unknown_kinds_by_their_code(client_as):
    account = AccountFactory()
    Event.objects.create(source="s", external_id="k1", account=account, kind="report_export", occurred_at=at(1))
    Event.objects.create(source="s", external_id="k2", account=account, kind="custom_thing", occurred_at=at(2))
    html = client_as(Role.VIEWER).get(f"/accounts/{account.pk}/").content.decode()
    assert "レポート出力" in html and "custom_thing" in html
