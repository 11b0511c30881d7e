"""The campaigns demo at a small scale, as a user of the campaign pages sees it: offers in every status with their
checklists, special rates switched in the past and switching at the coming month turn (with the gap and the
off-boundary end flagged), ASP reports imported with approvals, rejections and cashback owed and paid,
forecasts and a backtest, and push campaigns (one sent with deliveries, clicks and conversions, one scheduled
for tomorrow 10:00, one draft); a second run adds nothing and a reset removes it."""

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse

from banso.accounts.models import Account, EndUser
from banso.activity.models import Event, ImportJob, ImportStatus
from banso.analytics.models import Segment
from banso.campaigns import demo, push, rates
from banso.campaigns.models import (
    BacktestRun,
    CampaignStatus,
    Conversion,
    ConversionStatus,
    Delivery,
    DeliveryStatus,
    Forecast,
    Offer,
    OfferStatus,
    PushCampaign,
    PushSubscription,
    RateSwitch,
    SpecialRate,
    SpecialRateStatus,
)
from banso.campaigns.offers import open_items
from banso.core import demo as core_demo
from banso.core.choices import Role
from banso.core.demo import DemoContext, Progress
from banso.core.models import AuditEntry, RunStatus
from banso.playbooks.models import MessageStatus, OutboxMessage

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 20, tzinfo=demo.TOKYO)
TURN = dt.datetime(2026, 12, 1, tzinfo=demo.TOKYO)


def _context() -> DemoContext:
    ctx = DemoContext(today=TODAY, accounts=5, csms=1, progress=Progress(quiet=True))
    ctx.shared[demo.SCALE_KEY] = 0.2
    return ctx


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    """The imported report files go to a per-test folder, never the developer's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def built():
    ctx = _context()
    core_demo.build(ctx)
    demo.build(ctx)
    return ctx


def _snapshot() -> dict[str, int]:
    return {
        "advertisers": Account.objects.filter(source=demo.DEMO_SOURCE).count(),
        "offers": Offer.objects.count(),
        "rates": SpecialRate.objects.count(),
        "switches": RateSwitch.objects.count(),
        "users": EndUser.objects.filter(source=demo.DEMO_SOURCE).count(),
        "events": Event.objects.filter(source=demo.DEMO_SOURCE).count(),
        "conversions": Conversion.objects.count(),
        "paid": Conversion.objects.filter(cashback_paid_at__isnull=False).count(),
        "imports": ImportJob.objects.count(),
        "forecasts": Forecast.objects.count(),
        "backtests": BacktestRun.objects.count(),
        "subscriptions": PushSubscription.objects.count(),
        "segments": Segment.objects.count(),
        "campaigns": PushCampaign.objects.count(),
        "deliveries": Delivery.objects.count(),
        "messages": OutboxMessage.objects.count(),
    }


def test_offers_in_every_status_and_special_rates_switching_at_the_month_turn(built, client_as):
    offers = {o.external_id: o for o in Offer.objects.select_related("advertiser", "asp")}
    assert len(offers) == len(demo.OFFERS) == 40
    by_status = {s: sum(o.status == s for o in offers.values()) for s in OfferStatus.values}
    assert by_status == {"approved": 3, "configured": 3, "published": 28, "paused": 3, "ended": 3}
    assert {o.asp.code for o in offers.values()} == {"a8", "valuecommerce", "afb", "moshimo", "accesstrade"}
    assert {o.base_reward_type for o in offers.values()} == {"rate", "fixed"}
    assert all(o.advertiser.kind == "advertiser" and o.conditions for o in offers.values())
    live = [o for o in offers.values() if o.status in ("published", "paused", "ended")]
    assert all(not open_items(o) and o.published_at for o in live)
    assert all(open_items(o) for o in offers.values() if o.status == "configured")  # not publishable yet

    # In force now, each offer paying its special reward; nothing left due; past switches applied by the job.
    active = SpecialRate.objects.filter(status=SpecialRateStatus.ACTIVE).select_related("offer")
    assert active.count() == 6
    for rate in active:
        assert (rate.offer.reward_rate, rate.offer.reward_amount) == (rate.rate, rate.amount)
    assert rates.due(NOW) == []
    assert RateSwitch.objects.filter(via="scheduler").count() == RateSwitch.objects.count() > 20
    assert SpecialRate.objects.filter(status=SpecialRateStatus.CANCELLED).count() == 1

    turn = rates.month_turn(2026, 12)
    changes = {row.offer.name: row.change for row in turn.rows}
    assert changes["ミドリ電機オンライン 商品購入"] == "special_to_base"
    assert changes["さくらトラベル 国内宿泊予約"] == "base_to_special"
    assert changes["みらいカード 新規入会"] == "special_to_special"
    assert [row.offer.name for row in turn.rows if row.off_boundary] == ["ひかり光ネット 新規申込"]
    assert [(a.offer.name, b.starts_at) for a, b, _gap in rates.gaps(since=NOW)] == [
        ("シネマパス 無料体験登録", TURN + dt.timedelta(days=1))
    ]

    client = client_as(Role.VIEWER)
    page = client.get(reverse("campaigns:offers")).content.decode()
    assert "ミドリ電機オンライン 商品購入" in page and "6.00%" in page
    turn_page = client.get(reverse("campaigns:month_turn") + "?month=2026-12")
    assert turn_page.status_code == 200 and "みらいカード 新規入会" in turn_page.content.decode()


def test_asp_reports_imported_with_decisions_cashback_owed_and_paid(built, client_as):
    jobs = ImportJob.objects.filter(entity="conversions")
    assert {j.source for j in jobs} == {"a8", "valuecommerce", "asp-reports"}
    assert all(j.status == ImportStatus.SUCCEEDED for j in jobs)
    assert any(j.filename.endswith(".csv") and "成果確定" in j.filename for j in jobs)
    results = Conversion.objects.all()
    assert results.count() > 300
    assert {c.status for c in results} == set(ConversionStatus.values)
    assert results.filter(end_user__source=demo.DEMO_SOURCE).count() > 0.95 * results.count()
    assert results.filter(end_user__isnull=True).exists()  # clicks the extension never recorded
    assert not results.filter(status=ConversionStatus.REJECTED, cashback__gt=0).exists()
    # The last month's results went 発生 → 確定/否認 in place (audited updates), older ones arrived decided.
    assert AuditEntry.objects.filter(object_type="campaigns.conversion", action="update").exists()
    paid = results.filter(cashback_paid_at__isnull=False)
    assert paid.exists() and not paid.exclude(status=ConversionStatus.APPROVED).exists()
    assert results.filter(status=ConversionStatus.APPROVED, cashback_paid_at__isnull=True, cashback__gt=0).exists()

    client = client_as(Role.VIEWER)
    september = client.get(reverse("campaigns:reconcile") + "?month=2026-09").content.decode()
    assert "ミドリ電機オンライン 商品購入" in september and "%" in september
    owed = client.get(reverse("campaigns:cashback"))
    assert owed.status_code == 200 and "plug-user-" in owed.content.decode()


def test_forecasts_with_an_interval_and_a_backtest(built, client_as):
    forecasts = list(Forecast.objects.select_related("offer"))
    assert {f.offer.external_id for f in forecasts} == {demo.offer_id("midori"), demo.offer_id("star")}
    for forecast in forecasts:
        low, mid, high = (forecast.result["acquisitions"][k] for k in ("low", "mid", "high"))
        assert low <= mid <= high and high > 0
        assert forecast.result["interval"] == 0.8
        assert forecast.period_start == dt.date(2026, 12, 1)
    run = BacktestRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.periods > 5
    client = client_as(Role.VIEWER)
    assert client.get(reverse("campaigns:forecast", args=[forecasts[0].pk])).status_code == 200
    assert client.get(reverse("campaigns:backtest")).status_code == 200


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_push_campaigns_sent_scheduled_and_draft(built, client_as):
    users = EndUser.objects.filter(source=demo.DEMO_SOURCE).count()
    subscriptions = list(PushSubscription.objects.all())
    assert 0.25 * users < len(subscriptions) < 0.45 * users
    for sub in subscriptions[:20]:
        assert sub.endpoint.startswith("https://push.example.jp/")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64(sub.p256dh))  # a real P-256 point
        assert len(_b64(sub.auth)) == 16

    sent = PushCampaign.objects.get(name=demo.SENT.name)
    assert sent.status == CampaignStatus.SENT and sent.segment.subject_type == "end_user"
    figures = push.results(sent)
    assert figures["delivered"] > 0 and figures["queued"] == 0
    assert figures["clicked"] > 0 and figures["converted"] > 0 and figures["reward"] > 0
    # A real worker's pass is over: nothing of the campaign waits in the outbox, 410 Gone revoked its subscription.
    batches = OutboxMessage.objects.filter(source=push.SOURCE)
    assert batches.exists() and not batches.exclude(status__in=[MessageStatus.SENT, MessageStatus.FAILED]).exists()
    failed = Delivery.objects.filter(campaign=sent, status=DeliveryStatus.FAILED).values_list("end_user_id", flat=True)
    assert not PushSubscription.objects.filter(end_user_id__in=list(failed), revoked_at__isnull=True).exists()

    scheduled = PushCampaign.objects.get(name=demo.SCHEDULED.name)
    assert scheduled.status == CampaignStatus.SCHEDULED
    assert scheduled.scheduled_at == dt.datetime(2026, 11, 21, 10, tzinfo=demo.TOKYO)
    assert PushCampaign.objects.get(name=demo.DRAFT.name).status == CampaignStatus.DRAFT

    page = client_as(Role.VIEWER).get(reverse("campaigns:push_campaign", args=[sent.pk])).content.decode()
    assert f'id="r-clicked">{figures["clicked"]} (' in page
    assert f'id="r-converted">{figures["converted"]} (' in page


def test_a_second_run_adds_nothing(built):
    before = _snapshot()
    demo.build(_context())
    assert _snapshot() == before


def test_reset_removes_the_demo_campaigns(built):
    demo.reset(_context())
    assert not Offer.objects.exists() and not Conversion.objects.exists()
    assert not PushCampaign.objects.exists() and not OutboxMessage.objects.filter(source=push.SOURCE).exists()
    assert not Account.objects.filter(source=demo.DEMO_SOURCE).exists()
    assert not EndUser.objects.filter(source=demo.DEMO_SOURCE).exists()
    assert not Event.objects.filter(source=demo.DEMO_SOURCE).exists()
    assert not ImportJob.objects.filter(entity="conversions").exists()
    demo.build(_context())  # and it builds again from scratch
    assert Offer.objects.count() == 40 and PushCampaign.objects.count() == 3
