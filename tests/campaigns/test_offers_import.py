"""Offers import through the shared engine: idempotent by (source, external_id), refused per row with nothing
written, checked by the same rules as the form."""

import pytest

from banso.activity.importing import ImportRefused, import_bytes
from banso.campaigns.models import Offer

from .factories import AdvertiserFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,advertiser,asp,asp_offer_id,name,category,base_reward_type,base_rate,base_amount,cashback_share\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8-sig")


def test_reimporting_the_same_file_changes_nothing():
    AdvertiserFactory(source="plug", external_id="adv-1")
    data = _csv(
        "o-1,adv-1,a8,s001,通販A 新規購入,ec,rate,5,,50", 'o-2,adv-1,moshimo,m002,カード発行,card,fixed,,"12,000",'
    )
    first = import_bytes("offers", "plug", data, "offers.csv")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    card = Offer.objects.get(external_id="o-2")
    assert card.reward_amount == 12000 and str(card.cashback_share) == "50.00" and card.asp.code == "moshimo"
    again = import_bytes("offers", "plug", data, "offers.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = import_bytes("offers", "plug", _csv("o-1,adv-1,a8,s001,通販A 新規購入,ec,rate,6,,50"), "offers.csv")
    assert changed.updated == 1 and str(Offer.objects.get(external_id="o-1").reward_rate) == "6.00"


def test_a_bad_row_refuses_the_file_naming_row_and_column():
    AdvertiserFactory(source="plug", external_id="adv-1")
    data = _csv(
        "o-1,adv-1,a8,s001,通販A,ec,rate,5,,50",
        "o-2,adv-1,nowhere,x1,B,ec,rate,5,,50",
        "o-3,adv-1,a8,s3,C,ec,rate,150,,50",
    )
    with pytest.raises(ImportRefused) as refused:
        import_bytes("offers", "plug", data, "offers.csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(3, "asp"), (4, "base_rate")]
    assert not Offer.objects.filter(source="plug").exists()
