"""A campaign's results: delivered from the outbox, clicks through the public tracked link, conversions of the
campaign's offer within the attribution window, reward and cashback in yen; the pages and API around them."""

import datetime as dt

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from banso.campaigns import push
from banso.campaigns.models import CampaignStatus, ConversionStatus, Delivery, PushCampaign, SendRun
from banso.core.choices import Role
from banso.playbooks.models import MessageStatus, OutboxMessage

from .factories import AdvertiserFactory, ConversionFactory, OfferFactory, UserFactory
from .factories_push import EndUserSegmentFactory, PushCampaignFactory, SubscriptionFactory, push_outcomes

pytestmark = pytest.mark.django_db


def _sent_campaign(n: int = 4, **kwargs):
    users = UserFactory.create_batch(n)
    for user in users:
        SubscriptionFactory(end_user=user)
    campaign = PushCampaignFactory(**kwargs)
    queued_at = timezone.now() - dt.timedelta(days=2)
    push.send(campaign, queued_at, members=np.array([u.pk for u in users]))
    return campaign, users, queued_at


def test_clicks_and_attributed_conversions_show_on_the_results_page(client_as):
    offer = OfferFactory()
    campaign, users, queued_at = _sent_campaign(4, offer=offer, attribution_days=7)
    push_outcomes(timezone.now())
    deliveries = {d.end_user_id: d for d in Delivery.objects.filter(campaign=campaign)}

    anonymous = client_as(Role.VIEWER)  # any browser; the link needs no sign-in
    anonymous.logout()
    first = anonymous.get(f"/campaigns/c/{deliveries[users[0].pk].token}")
    assert first.status_code == 302 and first["Location"] == campaign.url
    clicked_at = Delivery.objects.get(pk=deliveries[users[0].pk].pk).clicked_at
    anonymous.get(f"/campaigns/c/{deliveries[users[0].pk].token}")  # a second click changes nothing
    assert Delivery.objects.get(pk=deliveries[users[0].pk].pk).clicked_at == clicked_at
    anonymous.get(f"/campaigns/c/{deliveries[users[1].pk].token}")
    assert anonymous.get("/campaigns/c/nonexistent").status_code == 404
    forged = f"{deliveries[users[2].pk].pk}-{'0' * 16}"  # a delivery's id with a made-up digest
    assert anonymous.get(f"/campaigns/c/{forged}").status_code == 404
    assert Delivery.objects.get(pk=deliveries[users[2].pk].pk).clicked_at is None

    # Inside the window: counts. Before the send, after the window, rejected, other offer: don't.
    ConversionFactory(
        offer=offer, end_user=users[0], occurred_at=queued_at + dt.timedelta(days=1), reward=800, cashback=400
    )
    ConversionFactory(offer=offer, end_user=users[1], occurred_at=queued_at - dt.timedelta(hours=1), reward=500)
    ConversionFactory(
        offer=offer,
        end_user=users[2],
        occurred_at=queued_at + dt.timedelta(days=1),
        reward=500,
        status=ConversionStatus.REJECTED,
    )
    ConversionFactory(offer=OfferFactory(), end_user=users[3], occurred_at=queued_at + dt.timedelta(days=1))
    push.sync_results()

    figures = push.results(campaign)
    assert figures["delivered"] == 4 and figures["clicked"] == 2 and figures["ctr"] == 0.5
    assert figures["converted"] == 1 and figures["cvr"] == 0.25
    assert figures["reward"] == 800 and figures["cashback"] == 400
    page = client_as(Role.VIEWER).get(reverse("campaigns:push_campaign", args=[campaign.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="r-clicked">2 (50%)' in html and 'id="r-converted">1 (25%)' in html
    assert 'id="r-reward">¥800' in html and 'id="r-cashback">¥400' in html
    assert "リンク先" in html and "関連付ける" not in html  # the campaign's link, not another catalogue's verb


def test_each_web_push_recipient_is_delivered_or_failed_by_its_own_outcome_in_the_batch():
    campaign, users, _queued_at = _sent_campaign(3)
    deliveries = {d.end_user_id: d for d in Delivery.objects.filter(campaign=campaign)}
    at = timezone.now().replace(microsecond=0)
    push_outcomes(at, failed=(deliveries[users[1].pk].pk,))
    push.sync_results()
    statuses = dict(Delivery.objects.filter(campaign=campaign).values_list("end_user_id", "status"))
    assert statuses == {users[0].pk: "delivered", users[1].pk: "failed", users[2].pk: "delivered"}
    assert Delivery.objects.get(pk=deliveries[users[0].pk].pk).delivered_at == at
    assert push.results(campaign)["delivered"] == 2


def test_a_failed_batch_fails_the_recipients_it_has_no_outcome_for():
    campaign, users, _queued_at = _sent_campaign(2)
    message = OutboxMessage.objects.get(source="campaigns")
    first = Delivery.objects.get(campaign=campaign, end_user_id=users[0].pk)
    message.payload["results"] = {str(first.pk): {"status": "sent", "at": timezone.now().isoformat(), "error": ""}}
    message.status = MessageStatus.RETRYING  # the other recipient's push service answered 503
    message.save()
    push.sync_results()
    statuses = dict(Delivery.objects.filter(campaign=campaign).values_list("end_user_id", "status"))
    assert statuses == {users[0].pk: "delivered", users[1].pk: "queued"}
    OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED)  # retries ran out
    push.sync_results()
    assert Delivery.objects.get(campaign=campaign, end_user_id=users[1].pk).status == "failed"


def test_a_conversion_after_the_attribution_window_is_not_the_campaigns():
    offer = OfferFactory()
    campaign, users, queued_at = _sent_campaign(1, offer=offer, attribution_days=3)
    ConversionFactory(offer=offer, end_user=users[0], occurred_at=queued_at + dt.timedelta(days=3, minutes=1))
    push.sync_results()
    assert push.results(campaign)["converted"] == 0


def test_the_results_api_and_cli_give_the_same_figures(api_as):
    campaign, _users, _at = _sent_campaign(3)
    answer = api_as(Role.VIEWER).get(f"/api/campaigns/push/campaigns/{campaign.pk}/results")
    assert answer.status_code == 200
    assert answer.json()["queued"] == 3 and answer.json()["targeted"] == 3


def test_a_campaign_made_on_the_page_with_the_inline_visited_segment(client_as):
    shop = AdvertiserFactory(name="旅行サイトA")
    offer = OfferFactory(advertiser=shop)
    response = client_as(Role.CSM).post(
        reverse("campaigns:push_new"),
        {
            "name": "旅行サイトA 再訪促進",
            "advertiser": shop.pk,
            "from_days": 3,
            "to_days": 7,
            "offer": offer.pk,
            "channel": "web_push",
            "title": "還元率アップ中",
            "body": "今週末まで",
            "attribution_days": 7,
            "scheduled_at": "2026-12-01T09:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = PushCampaign.objects.get(name="旅行サイトA 再訪促進")
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert campaign.url == offer.landing_url
    visit_rule = campaign.segment.rules["rules"][0]["metric"]
    assert visit_rule["at_accounts"] == [shop.pk] and visit_rule["window"] == {"days": 5, "offset": 3}


def test_only_senders_may_send_and_the_scheduler_starts_due_campaigns(client_as, django_capture_on_commit_callbacks):
    campaign = PushCampaignFactory(segment=EndUserSegmentFactory())
    refused = client_as(Role.CSM).post(reverse("campaigns:push_send", args=[campaign.pk]))
    assert refused.status_code == 403
    push.schedule(campaign, timezone.now() - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks():
        assert push.due_job(timezone.now()) is not None
    assert SendRun.objects.filter(campaign=campaign).count() == 1
    assert push.due_job(timezone.now()) is None  # started once


def test_the_api_creates_a_campaign_and_refuses_bad_input_naming_the_field(api_as):
    segment = EndUserSegmentFactory()
    client = api_as(Role.CSM)
    created = client.post(
        "/api/campaigns/push/campaigns",
        {"name": "API", "segment_id": segment.pk, "title": "T", "body": "B", "channel": "web_push"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["segment_id"] == segment.pk
    webhook = client.post(
        "/api/campaigns/push/campaigns",
        {"name": "W", "segment_id": segment.pk, "title": "T", "channel": "webhook"},
        content_type="application/json",
    )
    assert webhook.status_code == 422 and webhook.json()["detail"][0]["field"] == "webhook_url"
    missing = client.post("/api/campaigns/push/campaigns", {"name": "M", "title": "T"}, content_type="application/json")
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "segment_id"
    assert api_as(Role.CSM).post(f"/api/campaigns/push/campaigns/{created.json()['id']}/send").status_code == 403
