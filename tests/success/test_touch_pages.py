"""The touch pages: the Account 360 card and its form, the log, bulk logging, one touch, the renewal pipeline."""

import datetime as dt

import pytest
from django.utils import timezone

from banso.core.choices import Role
from banso.success.models import RenewalStage, Touch

from ..accounts.factories import AccountFactory, ContactFactory, ContractFactory
from .factories import RenewalFactory, TouchFactory

pytestmark = pytest.mark.django_db


def test_the_360_card_shows_touches_the_tier_rule_and_the_form_for_csms(client_as):
    account = AccountFactory(tier="high")
    TouchFactory(account=account, note="予算の相談", occurred_at=timezone.now() - dt.timedelta(days=40))
    page = client_as(Role.CSM).get(f"/accounts/{account.pk}/").content.decode()
    form_url = f"/success/accounts/{account.pk}/touches/form/"
    assert 'id="success-card"' in page and "予算の相談" in page and form_url in page  # the form comes when opened
    assert 'class="contact-rule error"' in page  # 40 days > 30 for high touch
    viewer_page = client_as(Role.VIEWER).get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="success-card"' in viewer_page and form_url not in viewer_page


def test_a_viewer_cannot_log_a_touch(client_as):
    account = AccountFactory()
    response = client_as(Role.VIEWER).post(
        f"/success/accounts/{account.pk}/touches/", {"channel": "call", "outcome": "conversation"}
    )
    assert response.status_code == 403 and not Touch.objects.exists()


def test_choosing_contact_changed_brings_the_successor_fields(client_as):
    account = AccountFactory()
    client = client_as(Role.CSM)
    plain = client.get(f"/success/accounts/{account.pk}/touches/form/?outcome=conversation").content.decode()
    changed = client.get(f"/success/accounts/{account.pk}/touches/form/?outcome=contact_changed").content.decode()
    assert 'id="successor-fields"' not in plain and 'id="successor-fields"' in changed
    assert 'name="new_successor_name"' in changed


def test_logging_a_successor_from_the_360_reloads_the_page(client_as):
    leaver = ContactFactory(is_primary=True)
    response = client_as(Role.CSM).post(
        f"/success/accounts/{leaver.account_id}/touches/",
        {
            "channel": "call",
            "outcome": "contact_changed",
            "contact": leaver.pk,
            "new_successor_name": "後任 一郎",
            "new_successor_email": "kounin@example.jp",
        },
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == f"/accounts/{leaver.account_id}/"
    assert leaver.account.contacts.get(is_primary=True).name == "後任 一郎"


def test_a_refused_touch_comes_back_with_the_error_on_its_field(client_as):
    leaver = ContactFactory(is_primary=True)
    response = client_as(Role.CSM).post(
        f"/success/accounts/{leaver.account_id}/touches/",
        {"channel": "call", "outcome": "contact_changed", "contact": leaver.pk},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'id="successor-fields"' in page and 'role="alert"' in page
    assert not Touch.objects.exists()


def test_the_touch_log_filters_by_outcome_and_csm(client_as, user_with_role):
    csm = user_with_role(Role.CSM)
    TouchFactory(csm=csm, outcome="appointment", account=AccountFactory(name="アポ社"))
    TouchFactory(outcome="no_reaction", account=AccountFactory(name="無反応社"))
    client = client_as(Role.VIEWER)
    page = client.get("/success/touches/?outcome=appointment").content.decode()
    assert "アポ社" in page and "無反応社" not in page
    assert client.get(f"/success/touches/?csm={csm.pk}").context["page"].paginator.count == 1


def test_bulk_logging_logs_one_touch_per_ticked_account(client_as):
    first, second = AccountFactory(), AccountFactory()
    response = client_as(Role.CSM).post(
        "/success/touches/bulk/",
        {"accounts": [first.pk, second.pk], "channel": "email", "outcome": "no_reaction"},
    )
    assert response.status_code == 302
    assert set(Touch.objects.values_list("account_id", flat=True)) == {first.pk, second.pk}


def test_bulk_logging_without_accounts_or_with_an_unknown_one_logs_nothing(client_as):
    client = client_as(Role.CSM)
    empty = client.post("/success/touches/bulk/", {"channel": "email", "outcome": "no_reaction"})
    unknown = client.post(
        "/success/touches/bulk/",
        {"accounts": [AccountFactory().pk, 999_999], "channel": "email", "outcome": "no_reaction"},
    )
    assert empty.status_code == unknown.status_code == 200
    assert empty.context["form"].errors["accounts"] and unknown.context["form"].errors["accounts"]
    assert not Touch.objects.exists()


def test_a_touchs_next_step_is_marked_done_from_its_page(client_as):
    touch = TouchFactory(next_step="見積を送る", next_step_due=timezone.localdate())
    client = client_as(Role.CSM)
    assert "見積を送る" in client.get(f"/success/touches/{touch.pk}/").content.decode()
    assert client.post(f"/success/touches/{touch.pk}/done/").status_code == 302
    touch.refresh_from_db()
    assert touch.next_step_done_at is not None
    assert client_as(Role.VIEWER).post(f"/success/touches/{touch.pk}/done/").status_code == 403


def test_the_renewal_pipeline_shows_stages_forecast_and_rows(client_as):
    month = timezone.localdate().replace(day=1)
    RenewalFactory(contract=ContractFactory(renewal_date=month, mrr=80_000, account=AccountFactory(name="更新社")))
    response = client_as(Role.VIEWER).get(f"/success/renewals/?month={month:%Y-%m}")
    page = response.content.decode()
    assert "更新社" in page and 'id="forecast"' in page and "¥80,000" in page
    assert response.context["month_forecast"].best_case == 80_000


def test_the_pipeline_downloads_as_csv(client_as):
    month = timezone.localdate().replace(day=1)
    RenewalFactory(contract=ContractFactory(renewal_date=month, account=AccountFactory(name="CSV社")))
    response = client_as(Role.VIEWER).get(f"/success/renewals/?month={month:%Y-%m}&format=csv")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv") and "CSV社" in body


def test_the_stage_changes_inline_and_a_refusal_shows_in_the_row(client_as):
    renewal = RenewalFactory(mrr=50_000)
    client = client_as(Role.CSM)
    refused = client.post(
        f"/success/renewals/{renewal.pk}/stage/",
        {"stage": "upgraded", "renewed_mrr": "10"},
        headers={"HX-Request": "true"},
    )
    assert 'role="alert"' in refused.content.decode()
    done = client.post(f"/success/renewals/{renewal.pk}/stage/", {"stage": "proposal"}, headers={"HX-Request": "true"})
    assert done.status_code == 200
    renewal.refresh_from_db()
    assert renewal.stage == RenewalStage.PROPOSAL
    assert (
        client_as(Role.VIEWER).post(f"/success/renewals/{renewal.pk}/stage/", {"stage": "churned"}).status_code == 403
    )
