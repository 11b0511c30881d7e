"""Frequency caps: at most CAMPAIGNS_DAILY_CAP notifications per user per Tokyo day and CAMPAIGNS_WEEKLY_CAP
over 7 Tokyo days, held back users recorded as capped, and the cap held when campaigns send at once."""

import datetime as dt
import threading

import numpy as np
import pytest
from django.db import connection, connections

from banso.campaigns import push
from banso.campaigns.models import CapSlot, Delivery, DeliveryStatus

from .factories import UserFactory, tokyo
from .factories_push import PushCampaignFactory, SubscriptionFactory


def _subscribed(n: int) -> list[int]:
    users = UserFactory.create_batch(n)
    for user in users:
        SubscriptionFactory(end_user=user)
    return [u.pk for u in users]


@pytest.mark.django_db
def test_a_second_campaign_the_same_tokyo_day_is_held_back_and_recorded(settings):
    settings.CAMPAIGNS_DAILY_CAP, settings.CAMPAIGNS_WEEKLY_CAP = 1, 3
    ids = np.array(_subscribed(3))
    first = push.send(PushCampaignFactory(), tokyo(2026, 12, 1, 9), members=ids[:2])
    second_campaign = PushCampaignFactory()
    second = push.send(second_campaign, tokyo(2026, 12, 1, 23, 59), members=ids)

    assert first.queued == 2
    assert second.queued == 1 and second.capped == 2
    capped = Delivery.objects.filter(campaign=second_campaign, status=DeliveryStatus.CAPPED)
    assert sorted(capped.values_list("end_user_id", flat=True)) == sorted(ids[:2].tolist())
    assert not capped.filter(outbox_message_id__isnull=False).exists()
    assert push.results(second_campaign)["capped"] == 2


@pytest.mark.django_db
def test_the_day_turns_at_midnight_in_tokyo_not_utc(settings):
    settings.CAMPAIGNS_DAILY_CAP, settings.CAMPAIGNS_WEEKLY_CAP = 1, 3
    ids = np.array(_subscribed(1))
    # 23:30 on 1 Dec and 00:10 on 2 Dec in Tokyo are the same UTC day (1 Dec) but two Tokyo days.
    push.send(PushCampaignFactory(), tokyo(2026, 12, 1, 23, 30), members=ids)
    late = push.send(PushCampaignFactory(), tokyo(2026, 12, 2, 0, 10), members=ids)
    assert late.queued == 1
    assert sorted(CapSlot.objects.values_list("day", flat=True)) == [dt.date(2026, 12, 1), dt.date(2026, 12, 2)]
    # …while 08:00 on 2 Dec in Tokyo is 23:00 UTC on 1 Dec and still the Tokyo day already used.
    again = push.send(PushCampaignFactory(), tokyo(2026, 12, 2, 8), members=ids)
    assert again.capped == 1


@pytest.mark.django_db
def test_the_weekly_cap_counts_the_last_7_tokyo_days(settings):
    settings.CAMPAIGNS_DAILY_CAP, settings.CAMPAIGNS_WEEKLY_CAP = 2, 3
    ids = np.array(_subscribed(1))
    for day in (1, 2, 3):
        assert push.send(PushCampaignFactory(), tokyo(2026, 12, day, 12), members=ids).queued == 1
    assert push.send(PushCampaignFactory(), tokyo(2026, 12, 7, 23, 59), members=ids).capped == 1
    # On 8 Dec (Tokyo) the week is 2–8 Dec: the 1 Dec notification has dropped out.
    assert push.send(PushCampaignFactory(), tokyo(2026, 12, 8, 0, 0), members=ids).queued == 1


@pytest.mark.django_db
def test_a_daily_cap_of_two_gives_the_second_slot_to_the_second_campaign(settings):
    settings.CAMPAIGNS_DAILY_CAP, settings.CAMPAIGNS_WEEKLY_CAP = 2, 5
    ids = np.array(_subscribed(2))
    results = [push.send(PushCampaignFactory(), tokyo(2026, 12, 1, h), members=ids) for h in (9, 12, 15)]
    assert [r.queued for r in results] == [2, 2, 0] and results[2].capped == 2
    assert sorted(set(CapSlot.objects.values_list("slot", flat=True))) == [0, 1]


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_sending_at_once_never_put_a_user_over_the_cap(settings):
    """Two threads, each with its own database connection, send two campaigns to the same users at the same
    moment. Guarantee: every user gets at most the daily cap between them (and each a delivery record)."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite has a single writer)")
    settings.CAMPAIGNS_DAILY_CAP, settings.CAMPAIGNS_WEEKLY_CAP = 1, 3
    ids = np.array(_subscribed(300))
    campaigns = [PushCampaignFactory(), PushCampaignFactory()]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    now = tokyo(2026, 12, 1, 10)

    def sender(campaign):
        try:
            barrier.wait()
            push.send(campaign, now, members=ids)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender, args=(c,)) for c in campaigns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    queued = Delivery.objects.filter(status=DeliveryStatus.QUEUED)
    per_user = dict.fromkeys(ids.tolist(), 0)
    for uid in queued.values_list("end_user_id", flat=True):
        per_user[uid] += 1
    assert max(per_user.values()) == 1 and min(per_user.values()) == 1
    assert Delivery.objects.filter(status=DeliveryStatus.CAPPED).count() == 300
    assert Delivery.objects.count() == 600 and CapSlot.objects.count() == 300
