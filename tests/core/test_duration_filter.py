"""The `duration` filter: a gap or a wait in days, hours and minutes, in the reader's language."""

import datetime as dt

from django.utils import translation

from banso.core.templatetags.banso import duration


def test_a_duration_reads_in_japanese_days_hours_and_minutes():
    with translation.override("ja"):
        assert duration(dt.timedelta(days=1)) == "1日"
        assert duration(dt.timedelta(days=2, hours=3, minutes=5)) == "2日 3時間 5分"
        assert duration(dt.timedelta(minutes=-90)) == "-1時間 30分"
        assert duration(dt.timedelta(seconds=20)) == "0分"
    with translation.override("en"):
        assert duration(dt.timedelta(days=1, hours=1)) == "1 day 1 hour"
    assert duration(None) == ""
