"""The concierge reads what the customer asks for from real-looking Japanese inquiry text."""

import datetime as dt

import pytest

from banso.marketplace.concierge import Request, guess_request

from .factories import ProviderFactory

CATEGORIES = ["エアコンクリーニング", "クリーニング", "ハウスクリーニング", "不用品回収"]
AREAS = ["東京都渋谷区", "東京都新宿区", "大阪府大阪市北区", "大阪府大阪市"]


def guess(text, today):
    return guess_request(text, today=today, categories=CATEGORIES, areas=AREAS)


def test_full_width_digits_and_a_month_day_date():
    text = (
        "お世話になります。１２月５日（土）に渋谷区の自宅でエアコンクリーニングをお願いしたいです。大人２名在宅です。"
    )
    assert guess(text, dt.date(2026, 11, 20)) == Request(
        "エアコンクリーニング", "東京都渋谷区", dt.date(2026, 12, 5), 2
    )


def test_half_width_katakana_and_tomorrow_across_the_year_end():
    text = "明日、新宿区で ﾊｳｽｸﾘｰﾆﾝｸﾞ を頼めますか？3人で立ち会います。"
    assert guess(text, dt.date(2026, 12, 31)) == Request("ハウスクリーニング", "東京都新宿区", dt.date(2027, 1, 1), 3)


def test_next_saturday_at_a_month_and_year_boundary():
    # Monday 2026-12-28: next week's Saturday is 2027-01-09; this week's is 2027-01-02.
    assert guess("来週土曜に大阪市北区でクリーニング希望", dt.date(2026, 12, 28)).day == dt.date(2027, 1, 9)
    assert guess("今週の土曜日はどうですか", dt.date(2026, 12, 28)).day == dt.date(2027, 1, 2)
    # Thursday 2026-11-26: next Saturday (来週土曜) is in December.
    assert guess("来週土曜日でお願いします", dt.date(2026, 11, 26)).day == dt.date(2026, 12, 5)


def test_the_longest_mention_wins():
    found = guess("大阪市北区でエアコンクリーニングの見積もり", dt.date(2026, 11, 1))
    assert (found.category, found.area) == ("エアコンクリーニング", "大阪府大阪市北区")


def test_a_past_month_day_means_next_year_and_slashes_are_read():
    assert guess("1/3に来てほしい", dt.date(2026, 12, 20)).day == dt.date(2027, 1, 3)
    assert guess("12/5 午前中希望", dt.date(2026, 11, 1)).day == dt.date(2026, 12, 5)
    assert guess("2027年2月1日で", dt.date(2026, 11, 1)).day == dt.date(2027, 2, 1)


def test_weekend_and_days_later():
    sunday = dt.date(2026, 12, 27)
    assert guess("今週末に", sunday).day == sunday
    assert guess("今週末に", dt.date(2026, 12, 23)).day == dt.date(2026, 12, 26)
    assert guess("来週末に", dt.date(2026, 12, 23)).day == dt.date(2027, 1, 2)
    assert guess("3日後に", dt.date(2026, 12, 30)).day == dt.date(2027, 1, 2)
    assert guess("明後日", dt.date(2026, 12, 31)).day == dt.date(2027, 1, 2)


def test_the_earliest_mention_of_a_day_wins_and_guests_add_up():
    found = guess("12月5日が無理なら12月6日で。大人2人と子ども1人です。", dt.date(2026, 11, 1))
    assert (found.day, found.guests) == (dt.date(2026, 12, 5), 3)


def test_nothing_recognised_leaves_the_request_blank():
    assert guess("料金について教えてください", dt.date(2026, 11, 1)) == Request("", "", None, 1)


@pytest.mark.django_db
def test_categories_and_areas_come_from_what_providers_serve():
    ProviderFactory(services=[("網戸張り替え", "神奈川県横浜市")])
    found = guess_request("横浜市で網戸張り替えを２名で明日", today=dt.date(2026, 11, 30))
    assert found == Request("網戸張り替え", "神奈川県横浜市", dt.date(2026, 12, 1), 2)
