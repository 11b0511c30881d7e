"""`banso demo` leaves analytics ready to look at: a custom metric, segments with members, computed values;
a re-run adds nothing, and --reset recomputes from a fresh copy of the events."""

from datetime import date

import pytest
from django.core.management import call_command

from banso.activity import lake
from banso.activity.models import Event
from banso.analytics.models import AnalyticsRun, MetricDefinition, MetricValue, RunStatus, Segment
from banso.campaigns import demo as campaigns_demo
from banso.funnels import demo as funnels_demo
from banso.health import surveys

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 20)


def demo(**options):
    call_command("demo", accounts=40, today=TODAY.isoformat(), verbosity=0, **options)


def account_segments():
    """The analytics demo's segments (the campaigns demo adds end-user segments, computed when a campaign sends)."""
    return Segment.objects.exclude(subject_type="end_user")


def test_demo_defines_segments_and_computes_them():
    demo()
    assert MetricDefinition.objects.filter(key="report_exports_7d", is_active=True).exists()
    assert account_segments().count() == 3 and not account_segments().filter(refreshed_at=None).exists()
    run = AnalyticsRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.as_of == TODAY
    # Every event there was when it ran; the health demo's survey answers, the funnels and campaigns demos come later.
    later = [surveys.EVENT_SOURCE, funnels_demo.DEMO_SOURCE, campaigns_demo.DEMO_SOURCE]
    assert run.events_synced == Event.objects.exclude(source__in=later).count()
    assert MetricValue.objects.filter(metric="logins_30d").exists()
    assert MetricValue.objects.filter(metric="report_exports_7d").exists()


def test_a_second_demo_adds_nothing_and_a_reset_copies_the_events_afresh():
    demo()
    first = (MetricValue.objects.count(), Segment.objects.count(), AnalyticsRun.objects.count())
    demo()
    assert (MetricValue.objects.count(), Segment.objects.count(), AnalyticsRun.objects.count()) == first
    demo(reset=True)
    assert lake.row_count() == Event.objects.count()  # the deleted events are gone from the copy too
    assert MetricValue.objects.count() == first[0] and account_segments().count() == 3
