"""Offers are entered with a checked reward, publish only with a complete checklist and move along their
status machine, each change audited against the advertiser."""

from decimal import Decimal

import pytest

from banso.campaigns import offers
from banso.campaigns.models import Asp, Offer, OfferStatus
from banso.core.models import AuditEntry

from .factories import AdvertiserFactory, OfferFactory
from .factories_offers import draft_offer

pytestmark = pytest.mark.django_db


def _data(**overrides):
    data = {
        "advertiser": AdvertiserFactory().pk,
        "asp": "a8",
        "asp_offer_id": "s00001234",
        "name": "旅行サイト 宿泊予約",
        "category": "travel",
        "base_reward_type": "rate",
        "base_rate": "4.5",
        "cashback_share": "60",
    }
    data.update(overrides)
    return data


def test_the_usual_asps_are_there_on_a_fresh_install():
    assert {"a8", "valuecommerce", "afb", "moshimo", "accesstrade"} <= set(Asp.objects.values_list("code", flat=True))


def test_a_new_offer_starts_approved_paying_its_base_reward():
    offer = offers.save_offer(None, _data(), actor=None)
    assert offer.status == OfferStatus.APPROVED
    assert (offer.reward_type, offer.reward_rate, offer.reward_amount) == ("rate", Decimal("4.50"), None)
    assert offer.cashback_share == Decimal("60.00")
    entry = AuditEntry.objects.get(object_type="campaigns.offer", object_id=str(offer.pk))
    assert entry.account_id == offer.advertiser_id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"base_rate": "101"}, "base_rate"),
        ({"base_rate": "5.255"}, "base_rate"),
        ({"base_rate": ""}, "base_rate"),
        ({"base_reward_type": "fixed", "base_amount": "1500.5"}, "base_amount"),
        ({"base_reward_type": "fixed", "base_amount": ""}, "base_amount"),
        ({"base_reward_type": "points"}, "base_reward_type"),
        ({"cashback_share": "120"}, "cashback_share"),
        ({"name": ""}, "name"),
        ({"asp": "nope"}, "asp"),
        ({"category": "casino"}, "category"),
    ],
)
def test_bad_input_is_refused_naming_the_field(overrides, field):
    with pytest.raises(offers.OfferError) as refused:
        offers.save_offer(None, _data(**overrides), actor=None)
    assert refused.value.field == field
    assert not Offer.objects.filter(asp_offer_id="s00001234").exists()


def test_an_advertiser_is_needed():
    from banso.accounts.models import Account

    customer = Account.objects.create(external_id="c1", name="顧客", kind="customer")
    with pytest.raises(offers.OfferError) as refused:
        offers.save_offer(None, _data(advertiser=customer.pk), actor=None)
    assert refused.value.field == "advertiser"


def test_a_fixed_reward_in_whole_yen_reads_with_commas():
    offer = offers.save_offer(None, _data(base_reward_type="fixed", base_amount="1,500円"), actor=None)
    assert offer.base_amount == 1500 and offer.base_rate is None
    assert offers.current_reward_text(offer) == "1,500円"
    assert offers.reward_text("rate", Decimal("5"), None) == "5.00%"


def test_the_same_program_at_the_same_asp_is_refused():
    offers.save_offer(None, _data(), actor=None)
    with pytest.raises(offers.OfferError) as refused:
        offers.save_offer(None, _data(), actor=None)
    assert refused.value.field == "asp_offer_id"


def test_publishing_is_refused_while_checklist_items_are_open():
    offer = draft_offer()
    offers.set_status(offer, OfferStatus.CONFIGURED, actor=None)
    for key in offers.CHECKLIST_KEYS[:-2]:
        offers.tick(offer, key, actor=None)
    with pytest.raises(offers.OfferError) as refused:
        offers.set_status(offer, OfferStatus.PUBLISHED, actor=None)
    assert refused.value.field == "checklist"
    labels = dict(offers.CHECKLIST)
    assert str(labels["creatives"]) in refused.value.message and str(labels["start_date"]) in refused.value.message
    assert str(labels["partnership"]) not in refused.value.message
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CONFIGURED and offer.published_at is None


def test_a_complete_checklist_publishes_and_stamps_the_time():
    offer = draft_offer()
    offers.set_status(offer, OfferStatus.CONFIGURED, actor=None)
    for key in offers.CHECKLIST_KEYS:
        offers.tick(offer, key, actor=None)
    published = offers.set_status(offer, OfferStatus.PUBLISHED, actor=None)
    assert published.status == OfferStatus.PUBLISHED and published.published_at is not None


def test_paused_and_published_alternate_and_ended_is_final():
    offer = OfferFactory(
        status=OfferStatus.PUBLISHED, checklist=dict.fromkeys(offers.CHECKLIST_KEYS, "2026-11-01T00:00:00+09:00")
    )
    assert offers.set_status(offer, OfferStatus.PAUSED, actor=None).status == OfferStatus.PAUSED
    assert offers.set_status(offer, OfferStatus.PUBLISHED, actor=None).status == OfferStatus.PUBLISHED
    ended = offers.set_status(offer, OfferStatus.ENDED, actor=None)
    assert ended.ended_at is not None
    for status in (OfferStatus.PUBLISHED, OfferStatus.PAUSED, OfferStatus.APPROVED):
        with pytest.raises(offers.OfferError):
            offers.set_status(offer, status, actor=None)


def test_an_approved_offer_cannot_jump_to_published():
    offer = draft_offer(checklist=dict.fromkeys(offers.CHECKLIST_KEYS, "2026-11-01T00:00:00+09:00"))
    with pytest.raises(offers.OfferError) as refused:
        offers.set_status(offer, OfferStatus.PUBLISHED, actor=None)
    assert refused.value.field == "status"


def test_unticking_removes_the_item():
    offer = draft_offer()
    offers.tick(offer, "reward", actor=None)
    offers.tick(offer, "reward", False, actor=None)
    offer.refresh_from_db()
    assert "reward" in offers.open_items(offer)
    with pytest.raises(offers.OfferError):
        offers.tick(offer, "nonsense", actor=None)
