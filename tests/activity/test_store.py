"""The event store's bulk path: idempotent, all-or-nothing, and never leaves an event without its subject."""

import datetime as dt

import polars as pl
import pytest
from django.db import IntegrityError, transaction

from banso.accounts.models import Account
from banso.activity import store
from banso.activity.models import Event


def _frame(account_ids: list[int], start: int = 0) -> pl.DataFrame:
    n = len(account_ids)
    return pl.DataFrame(
        {
            "source": ["test"] * n,
            "external_id": [f"E{start + i}" for i in range(n)],
            "account_id": account_ids,
            "end_user_id": [None] * n,
            "kind": ["login"] * n,
            "occurred_at": [dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(n)],
            "value": ["1"] * n,
            "properties": ['{"page": "トップ"}'] * n,
        }
    )


@pytest.mark.django_db(transaction=True)
def test_bulk_load_writes_events_and_a_second_load_adds_nothing():
    a, b = Account.objects.create(name="青葉商事", external_id="a"), Account.objects.create(name="桜", external_id="b")
    frame = _frame([b.pk, a.pk, b.pk, a.pk])
    for expected in (4, 0):
        with store.bulk_loading(), transaction.atomic():
            assert store.append_events(frame) == expected
    event = Event.objects.get(external_id="E1")
    assert event.account_id == a.pk
    assert event.properties == {"page": "トップ"}
    assert event.occurred_at == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_bulk_load_refuses_a_batch_that_refers_to_a_missing_account_and_writes_none_of_it():
    account = Account.objects.create(name="青葉商事", external_id="a")
    with pytest.raises(IntegrityError), store.bulk_loading(), transaction.atomic():
        store.append_events(_frame([account.pk, account.pk + 1000]))
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_foreign_keys_are_enforced_again_after_a_bulk_load():
    with store.bulk_loading(), transaction.atomic():
        pass
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            source="x", external_id="1", account_id=424242, kind="k", occurred_at=dt.datetime.now(dt.UTC)
        )
