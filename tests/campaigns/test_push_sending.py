"""Sending a push campaign: the segment's members (through the analytics engine), reachability per channel,
one delivery per user however often it is re-sent, the outbox messages it queues."""

import datetime as dt
import json

import numpy as np
import pytest
from django.utils import timezone

from banso.accounts.models import EndUser
from banso.activity import lake
from banso.campaigns import push
from banso.campaigns.models import CampaignStatus, Channel, Delivery, DeliveryStatus, PushSubscription
from banso.playbooks import outbox
from banso.playbooks.models import MessageKind, MessageStatus, OutboxMessage

from ..mail import smtp  # noqa: F401 (fixture)
from .factories import AdvertiserFactory, ConversionFactory, OfferFactory, UserFactory
from .factories_push import PushCampaignFactory, SubscriptionFactory, add_visits, visited_segment

pytestmark = pytest.mark.django_db


def test_visitors_of_the_site_3_to_7_days_ago_who_did_not_buy_get_one_web_push_each():
    now = timezone.now()
    shop = AdvertiserFactory()
    visited, bought, too_recent, other_site = (UserFactory() for _ in range(4))
    for user in (visited, bought, too_recent, other_site):
        SubscriptionFactory(end_user=user)
    add_visits(shop, (visited, now - dt.timedelta(days=5)), (bought, now - dt.timedelta(days=4)))
    add_visits(shop, (bought, now - dt.timedelta(days=2)), kind="purchase")
    add_visits(shop, (too_recent, now - dt.timedelta(days=1)))
    add_visits(AdvertiserFactory(), (other_site, now - dt.timedelta(days=5)))
    lake.sync()
    campaign = PushCampaignFactory(segment=visited_segment(shop, 3, 7))

    result = push.send(campaign, now)

    assert result.targeted == 1 and result.queued == 1
    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.end_user_id == visited.pk and delivery.status == DeliveryStatus.QUEUED
    message = OutboxMessage.objects.get(pk=delivery.outbox_message_id)
    assert message.kind == MessageKind.WEB_PUSH and message.source == "campaigns"
    [recipient] = message.payload["recipients"]
    assert recipient["ref"] == str(delivery.pk)
    assert recipient["user"] == visited.pk  # its live subscriptions are looked up at send time
    data = {**message.payload["data"], **recipient["data"]}  # the batch's shared data and the recipient's link
    assert data["title"] == campaign.title and data["body"] == campaign.body
    assert data["url"].endswith(f"/campaigns/c/{delivery.token}")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.targeted == 1 and campaign.queued == 1


def test_a_re_send_never_sends_to_the_same_user_twice():
    users = UserFactory.create_batch(3)
    for user in users:
        SubscriptionFactory(end_user=user)
    campaign = PushCampaignFactory()
    ids = np.array([u.pk for u in users[:2]])
    first = push.send(campaign, timezone.now(), members=ids)
    again = push.send(campaign, timezone.now(), members=np.array([u.pk for u in users]))

    assert first.queued == 2
    assert again.skipped == 2 and again.queued == 1
    assert Delivery.objects.filter(campaign=campaign).count() == 3
    batches = OutboxMessage.objects.filter(source="campaigns").order_by("id")
    assert [len(m.payload["recipients"]) for m in batches] == [2, 1]  # one batch per send


def test_users_the_channel_cannot_reach_are_counted_as_unreachable_and_left_for_a_later_send():
    with_sub, revoked, without = UserFactory(), UserFactory(), UserFactory()
    SubscriptionFactory(end_user=with_sub)
    SubscriptionFactory(end_user=revoked, revoked_at=timezone.now())
    campaign = PushCampaignFactory()
    result = push.send(campaign, timezone.now(), members=np.array([with_sub.pk, revoked.pk, without.pk]))
    assert result.queued == 1 and result.unreachable == 2
    statuses = dict(Delivery.objects.filter(campaign=campaign).values_list("end_user_id", "status"))
    assert statuses == {with_sub.pk: DeliveryStatus.QUEUED}
    campaign.refresh_from_db()
    assert campaign.unreachable == 2
    SubscriptionFactory(end_user=without)
    again = push.send(campaign, timezone.now(), members=np.array([with_sub.pk, revoked.pk, without.pk]))
    assert again.skipped == 1 and again.queued == 1 and again.unreachable == 1


def test_users_who_already_converted_on_the_offer_are_left_out():
    offer = OfferFactory()
    converted, fresh = UserFactory(), UserFactory()
    for user in (converted, fresh):
        SubscriptionFactory(end_user=user)
    ConversionFactory(offer=offer, end_user=converted, occurred_at=timezone.now() - dt.timedelta(days=1))
    campaign = PushCampaignFactory(offer=offer, segment=visited_segment(offer.advertiser, 3, 7))
    result = push.send(campaign, timezone.now(), members=np.array([converted.pk, fresh.pk]))
    assert result.converted_before == 1
    assert list(Delivery.objects.filter(campaign=campaign).values_list("end_user_id", flat=True)) == [fresh.pk]


def test_email_campaigns_reach_the_inbox_through_the_outbox_with_the_tracked_link(smtp):  # noqa: F811
    users = [UserFactory(email=f"kyaku{i}@example.jp") for i in range(2)] + [UserFactory(email="")]
    campaign = PushCampaignFactory(channel=Channel.EMAIL, title="週末セール", body="還元率が2倍です")
    result = push.send(campaign, timezone.now(), members=np.array([u.pk for u in users]))
    assert result.queued == 2 and result.unreachable == 1

    sent = outbox.deliver_due()
    assert sent.sent == 2, sent.errors
    assert sorted(m["To"] for m in smtp.messages) == ["kyaku0@example.jp", "kyaku1@example.jp"]
    message = smtp.to("kyaku0@example.jp")[0]
    assert message["Subject"] == "週末セール" and "List-Unsubscribe" in message
    token = Delivery.objects.get(campaign=campaign, end_user_id=users[0].pk).token
    assert f"/campaigns/c/{token}" in message.get_body(preferencelist=("plain",)).get_content()
    push.sync_results()
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.DELIVERED).count() == 2


def test_webhook_campaigns_post_one_message_per_batch_of_1000_users(settings):
    users = EndUser.objects.bulk_create(
        [EndUser(source="test-plug", external_id=f"wh-{i}", name=f"ユーザー{i}") for i in range(2_300)]
    )
    campaign = PushCampaignFactory(channel=Channel.WEBHOOK, webhook_url="https://push-provider.example.net/hook")
    result = push.send(campaign, timezone.now(), members=np.array([u.pk for u in users]))

    assert result.queued == 2_300 and result.messages == 3
    messages = list(OutboxMessage.objects.filter(source="campaigns").order_by("id"))
    assert [m.kind for m in messages] == [MessageKind.WEBHOOK] * 3
    assert [len(m.payload["recipients"]) for m in messages] == [1000, 1000, 300]
    assert {m.url for m in messages} == {"https://push-provider.example.net/hook"}
    first = messages[0].payload
    assert first["campaign"]["id"] == campaign.pk and first["message"]["title"] == campaign.title
    recipient = first["recipients"][0]
    delivery = Delivery.objects.get(campaign=campaign, end_user_id=recipient["end_user_id"])
    assert recipient["click_url"].endswith(delivery.token) and delivery.outbox_message_id == messages[0].pk
    assert recipient["external_id"] == users[[u.pk for u in users].index(recipient["end_user_id"])].external_id
    covered = sorted(r["end_user_id"] for m in messages for r in m.payload["recipients"])
    assert covered == sorted(u.pk for u in users)
    json.dumps(first)  # plain JSON
    assert not OutboxMessage.objects.exclude(status=MessageStatus.QUEUED).exists()


def test_web_push_goes_out_in_batches_of_1000_recipients_each_pointing_at_its_delivery():
    users = EndUser.objects.bulk_create(
        [EndUser(source="test-plug", external_id=f"wp-{i}", name=f"ユーザー{i}") for i in range(2_300)]
    )
    PushSubscription.objects.bulk_create(
        [
            PushSubscription(end_user=u, endpoint=f"https://push.example.net/s/{u.pk}", p256dh="BKey", auth="a")
            for u in users
        ]
    )
    campaign = PushCampaignFactory()
    result = push.send(campaign, timezone.now(), members=np.array([u.pk for u in users]))

    assert result.queued == 2_300 and result.messages == 3
    batches = list(OutboxMessage.objects.filter(source="campaigns").order_by("id"))
    assert [len(m.payload["recipients"]) for m in batches] == [1000, 1000, 300]
    deliveries = {d.pk: d for d in Delivery.objects.filter(campaign=campaign)}
    for batch in batches:
        for recipient in batch.payload["recipients"]:
            delivery = deliveries.pop(int(recipient["ref"]))
            assert delivery.outbox_message_id == batch.pk
            assert recipient["user"] == delivery.end_user_id
            assert recipient["data"]["url"].endswith(delivery.token)
    assert deliveries == {}  # every delivery in exactly one batch


def test_a_cancelled_campaign_is_not_sent():
    campaign = PushCampaignFactory()
    push.cancel(campaign)
    with pytest.raises(push.PushError):
        push.send(campaign, timezone.now(), members=np.array([1]))
