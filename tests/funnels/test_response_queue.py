import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.activity.models import Event
from banso.core.choices import Role
from banso.core.models import User
from banso.funnels import responses
from banso.funnels.models import ApplicantResponse
from tests.accounts.factories import AccountFactory

from .factories import APPLICATION, CONTACTED, FunnelFactory, add_funnel_events, applicant, at, funnel_event

pytestmark = pytest.mark.django_db
TUE = dt.date(2026, 11, 24)


@pytest.fixture
def funnel():
    return FunnelFactory()


def waiting(funnel, account, applied_at, **extra) -> ApplicantResponse:
    return ApplicantResponse.objects.create(
        funnel=funnel, account=account, end_user=applicant(account), applied_at=applied_at, **extra
    )


def test_queue_is_oldest_first_with_breach_and_amber_flags(funnel):
    client = AccountFactory()
    fresh = waiting(funnel, client, at(TUE, 10, 14))
    breached = waiting(funnel, client, at(TUE, 9, 0))
    due = waiting(funnel, client, at(TUE, 10, 5))
    waiting(funnel, client, at(TUE, 8), first_contact_at=at(TUE, 9), response_minutes=0)
    waiting(funnel, client, at(TUE, 8), next_stage_at=at(TUE, 9))
    rows, total = responses.queue(funnel, now=at(TUE, 10, 16))
    assert total == 3
    assert [w.row for w in rows] == [breached, due, fresh]
    assert [(w.waited, w.left, w.state) for w in rows] == [(76, -61, "breached"), (11, 4, "due"), (2, 13, "ok")]
    assert rows[0].over == 61
    assert rows[1].deadline == at(TUE, 10, 20)


def test_applicants_older_than_two_weeks_leave_the_queue(funnel):
    client = AccountFactory()
    waiting(funnel, client, at(TUE, 10) - dt.timedelta(days=15))
    recent = waiting(funnel, client, at(TUE, 10) - dt.timedelta(days=13))
    rows, total = responses.queue(funnel, now=at(TUE, 10))
    assert ([w.row for w in rows], total) == ([recent], 1)


def test_waiting_time_stops_over_lunch(funnel):
    row = waiting(funnel, AccountFactory(), at(TUE, 11, 55))
    (w,), _total = responses.queue(funnel, now=at(TUE, 13, 5))
    assert (w.row, w.waited, w.state) == (row, 10, "ok")
    assert w.deadline == at(TUE, 13, 10)


def test_queue_filters_my_clients_and_one_client(funnel):
    me = User.objects.create(username="csm-me", role=Role.CSM)
    mine = AccountFactory(owner=me)
    theirs = AccountFactory()
    own_row = waiting(funnel, mine, at(TUE, 10))
    other_row = waiting(funnel, theirs, at(TUE, 9))
    assert [w.row for w in responses.queue(funnel, owner=me, now=at(TUE, 11))[0]] == [own_row]
    assert [w.row for w in responses.queue(funnel, account_id=theirs.pk, now=at(TUE, 11))[0]] == [other_row]


def test_page_syncs_new_applications_and_shows_them(funnel, client_as):
    account = AccountFactory(name="株式会社リクルート試験")
    user = applicant(account, name="山田太郎")
    now = timezone.now()
    add_funnel_events(
        funnel_event(account, APPLICATION, now - dt.timedelta(hours=1), user, "営業職 2026春"), sync=False
    )
    page = client_as(Role.VIEWER).get(reverse("funnels:responses"))
    assert page.status_code == 200
    row = ApplicantResponse.objects.get(end_user=user)
    body = page.content.decode()
    assert f'data-response="{row.pk}"' in body
    assert "山田太郎" in body and "営業職 2026春" in body
    assert 'hx-trigger="every 15s"' in body
    assert reverse("funnels:response_contacted", args=[row.pk]) not in body  # a viewer cannot contact
    rows = client_as(Role.VIEWER).get(reverse("funnels:response_rows"))
    assert f'data-response="{row.pk}"' in rows.content.decode()


def test_contacted_button_records_an_event_and_updates_the_row(funnel, client_as):
    account = AccountFactory()
    row = waiting(funnel, account, at(TUE, 10), project="営業職 2026春")
    client = client_as(Role.ASSISTANT)
    url = reverse("funnels:response_contacted", args=[row.pk])
    answer = client.post(url, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    row.refresh_from_db()
    assert row.first_contact_at is not None and row.response_minutes is not None
    event = Event.objects.get(kind=CONTACTED)
    assert (event.source, event.account_id, event.end_user_id) == ("banso", account.pk, row.end_user_id)
    assert event.properties["project"] == "営業職 2026春"
    assert f'data-response="{row.pk}"' in answer.content.decode()
    # A second click records nothing more, and a later sync keeps the same first contact.
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 200
    assert Event.objects.filter(kind=CONTACTED).count() == 1
    first = row.first_contact_at
    responses.sync(funnel)
    row.refresh_from_db()
    assert row.first_contact_at == first


def test_contacted_needs_work_tasks_and_post(funnel, client_as):
    row = waiting(funnel, AccountFactory(), at(TUE, 10))
    url = reverse("funnels:response_contacted", args=[row.pk])
    assert client_as(Role.VIEWER).post(url).status_code == 403
    assert client_as(Role.CSM).get(url).status_code == 405
    assert client_as(Role.MERCHANT_USER).get(reverse("funnels:responses")).status_code == 403
    row.refresh_from_db()
    assert row.first_contact_at is None
    assert not Event.objects.exists()


def test_api_queue_and_contacted(funnel, api_as):
    row = waiting(funnel, AccountFactory(), timezone.now() - dt.timedelta(days=13))
    listing = api_as(Role.VIEWER).get("/api/funnels/responses/queue").json()
    assert listing["total"] == 1
    assert listing["items"][0]["id"] == row.pk
    assert listing["items"][0]["state"] == "breached"  # 13 days hold a business day
    assert api_as(Role.VIEWER).post(f"/api/funnels/responses/{row.pk}/contacted").status_code == 403
    worker = api_as(Role.CSM)
    done = worker.post(f"/api/funnels/responses/{row.pk}/contacted")
    assert done.status_code == 200
    assert done.json()["id"] == row.pk
    again = worker.post(f"/api/funnels/responses/{row.pk}/contacted")
    assert again.status_code == 422
    assert api_as(Role.VIEWER).get("/api/funnels/responses/queue").json()["total"] == 0
    assert api_as(Role.CSM).post("/api/funnels/responses/999999/contacted").status_code == 404
