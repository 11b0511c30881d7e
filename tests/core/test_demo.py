"""`banso demo`: a deterministic workspace, idempotent re-runs, learnable churn, users who can sign in."""

import hashlib
import statistics
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.test import Client

from banso.accounts.models import Account, Contact, Contract
from banso.activity.models import Event
from banso.core.choices import Role
from banso.core.demo import DEMO_PASSWORD, DEMO_SOURCE
from banso.core.management.commands.demo import demo_modules
from banso.core.models import Team, User

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
TOKYO = ZoneInfo("Asia/Tokyo")


def demo(**options):
    call_command("demo", accounts=options.pop("accounts", 60), today=TODAY.isoformat(), verbosity=0, **options)


def snapshot() -> dict:
    """Everything the demo wrote, without database ids (which differ between runs)."""
    accounts = list(
        Account.objects.filter(source=DEMO_SOURCE)
        .order_by("external_id")
        .values_list(
            "external_id",
            "name",
            "name_kana",
            "search_text",
            "tier",
            "lifecycle_stage",
            "industry",
            "owner__username",
            "mrr",
            "next_renewal_date",
            "attributes",
        )
    )
    contacts = list(
        Contact.objects.filter(source=DEMO_SOURCE)
        .order_by("external_id")
        .values_list(
            "external_id", "account__external_id", "name", "role", "is_primary", "left_on", "successor__external_id"
        )
    )
    contracts = list(
        Contract.objects.filter(source=DEMO_SOURCE)
        .order_by("external_id")
        .values_list("external_id", "plan", "mrr", "start_date", "renewal_date", "status", "churned_on", "churn_reason")
    )
    digest = hashlib.sha256()
    for row in (
        Event.objects.filter(source=DEMO_SOURCE)
        .order_by("external_id")
        .values_list("external_id", "account__external_id", "kind", "occurred_at", "value", "properties")
        .iterator(chunk_size=5000)
    ):
        digest.update(repr(row).encode())
    users = list(User.objects.order_by("username").values_list("username", "role", "display_name"))
    return {
        "accounts": accounts,
        "contacts": contacts,
        "contracts": contracts,
        "events": digest.hexdigest(),
        "users": users,
    }


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "contracts": Contract.objects.count(),
        "events": Event.objects.count(),
    }


def test_builders_are_discovered_in_app_order():
    names = [m.__name__ for m in demo_modules()]
    assert names[:3] == ["banso.core.demo", "banso.accounts.demo", "banso.activity.demo"]


def test_demo_builds_a_realistic_workspace():
    demo()
    assert Account.objects.filter(source=DEMO_SOURCE).count() == 60
    account = Account.objects.filter(source=DEMO_SOURCE).order_by("external_id").first()
    assert account is not None and account.name_kana and account.search_text
    assert any("株式会社" in name for name in Account.objects.values_list("name", flat=True))
    # Every account has 2–4 contacts (plus successors), one primary and a champion.
    per_account = Contact.objects.filter(left_on__isnull=True).values("account").annotate(n=Count("id"))
    assert all(2 <= row["n"] <= 4 for row in per_account)
    assert Contact.objects.filter(is_primary=True).count() == 60
    assert Contact.objects.filter(left_on__isnull=False, successor__isnull=False).exists()
    # Contracts: annual terms renewing monthly, some churned with a Japanese reason.
    churned = Contract.objects.filter(status="churned")
    assert churned.exists()
    assert all(c.churn_reason and c.churned_on for c in churned)
    for c in Contract.objects.all()[:50]:
        assert c.renewal_date is not None and (c.renewal_date - c.start_date).days in range(365, 367)
    # Roll-ups: live accounts carry their MRR.
    assert Account.objects.filter(mrr__gt=0).exists()
    assert not Account.objects.filter(lifecycle_stage="churned", mrr__gt=0).exists()
    kinds = set(Event.objects.values_list("kind", flat=True).distinct())
    assert {"login", "report_export", "inquiry_opened", "inquiry_resolved", "survey_nps"} <= kinds
    assert Event.objects.filter(kind="survey_nps", value__gt=10).count() == 0


def test_two_runs_give_the_same_workspace_and_a_rerun_duplicates_nothing():
    demo()
    first, first_counts = snapshot(), counts()
    demo()  # no reset: nothing new
    assert counts() == first_counts
    demo(reset=True)  # rebuilt from scratch: the same data
    assert counts() == first_counts
    assert snapshot() == first


def test_a_different_seed_gives_different_data():
    demo(seed=1)
    first = snapshot()
    demo(seed=2, reset=True)
    assert snapshot()["accounts"] != first["accounts"]


def test_churn_follows_the_drivers():
    demo(accounts=150)
    churned, retained = [], []
    for account in Account.objects.filter(source=DEMO_SOURCE):
        churned_on = account.contracts.filter(status="churned").values_list("churned_on", flat=True).first()
        end = churned_on or TODAY
        window = (
            datetime.combine(end - timedelta(days=60), time(0), TOKYO),
            datetime.combine(end, time(0), TOKYO),
        )
        events = Event.objects.filter(account=account)
        logins = events.filter(kind="login", occurred_at__range=window).aggregate(s=Sum("value"))["s"] or 0
        unresolved = events.filter(kind="inquiry_opened").count() - events.filter(kind="inquiry_resolved").count()
        nps = [float(v) for v in events.filter(kind="survey_nps").values_list("value", flat=True)]
        row = (float(logins), unresolved, statistics.mean(nps) if nps else None)
        (churned if churned_on else retained).append(row)
    assert len(churned) >= 5
    assert statistics.mean(r[0] for r in churned) < 0.6 * statistics.mean(r[0] for r in retained)
    assert statistics.mean(r[1] for r in churned) > statistics.mean(r[1] for r in retained)
    churned_nps = [r[2] for r in churned if r[2] is not None]
    retained_nps = [r[2] for r in retained if r[2] is not None]
    assert statistics.mean(churned_nps) < statistics.mean(retained_nps)


def test_users_of_every_role_exist_and_can_sign_in():
    demo(accounts=20)
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.filter(role=Role.CSM).count() == 1  # 20 accounts → one CSM at 93 accounts each
    assert Team.objects.filter(members__role=Role.CSM).exists()
    for username in ("admin", "ops", "csm01", "support", "assistant", "viewer", "merchant"):
        client = Client()
        response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert "_auth_user_id" in client.session
    merchant = User.objects.get(username="merchant")
    assert merchant.portal_accounts.count() == 1


def test_default_scale_has_fifteen_csms_with_japanese_names():
    from banso.core.management.commands.demo import default_csms

    assert default_csms(1400) == 15
    assert default_csms(100_000) == 1075
