import datetime as dt

import pytest

from banso.accounts.models import Account
from banso.core.models import ClosedDay
from banso.core.schedule import scheduled_jobs
from banso.funnels import responses
from banso.funnels.models import ApplicantResponse, ResponseSync
from tests.accounts.factories import AccountFactory

from .factories import APPLICATION, CONTACTED, INTERVIEW, FunnelFactory, add_funnel_events, applicant, at, funnel_event

pytestmark = pytest.mark.django_db
TUE = dt.date(2026, 11, 24)


def events(*rows):
    add_funnel_events(*rows, sync=False)


@pytest.fixture
def funnel():
    return FunnelFactory()


@pytest.fixture
def client_account():
    return AccountFactory(kind="client")


def row_of(funnel, user) -> ApplicantResponse:
    return ApplicantResponse.objects.get(funnel=funnel, end_user=user)


def test_application_contact_and_interview_fill_one_row(funnel, client_account: Account):
    user = applicant(client_account)
    events(
        funnel_event(client_account, APPLICATION, at(TUE, 11, 50), user, "営業職 2026春"),
        funnel_event(client_account, CONTACTED, at(TUE, 13, 5), user),
        funnel_event(client_account, INTERVIEW, at(TUE + dt.timedelta(days=3), 14), user),
    )
    result = responses.sync(funnel)
    assert (result.created, result.updated) == (1, 0)
    row = row_of(funnel, user)
    assert row.project == "営業職 2026春"
    assert row.applied_at == at(TUE, 11, 50)
    assert row.first_contact_at == at(TUE, 13, 5)
    assert row.response_minutes == 15  # the lunch hour does not count
    assert row.next_stage_at == at(TUE + dt.timedelta(days=3), 14)


def test_second_sync_changes_nothing_and_the_watermark_moves(funnel, client_account):
    user = applicant(client_account)
    events(funnel_event(client_account, APPLICATION, at(TUE, 10), user))
    responses.sync(funnel)
    mark = ResponseSync.objects.get(funnel=funnel).last_event_id
    assert mark > 0
    before = list(ApplicantResponse.objects.values())
    again = responses.sync(funnel)
    assert (again.events, again.created, again.updated) == (0, 0, 0)
    assert list(ApplicantResponse.objects.values()) == before
    # Rereading from the start (a lost watermark) recomputes the same rows.
    ResponseSync.objects.filter(funnel=funnel).update(last_event_id=0)
    assert responses.sync(funnel).updated == 0
    assert list(ApplicantResponse.objects.values()) == before


def test_contact_stored_before_its_application_still_counts(funnel, client_account):
    user = applicant(client_account)
    events(funnel_event(client_account, CONTACTED, at(TUE, 10, 20), user))
    responses.sync(funnel)
    assert not ApplicantResponse.objects.exists()
    events(funnel_event(client_account, APPLICATION, at(TUE, 10, 0), user))
    responses.sync(funnel)
    row = row_of(funnel, user)
    assert row.first_contact_at == at(TUE, 10, 20)
    assert row.response_minutes == 20


def test_earlier_application_imported_late_moves_applied_at_and_first_contact(funnel, client_account):
    user = applicant(client_account)
    events(
        funnel_event(client_account, CONTACTED, at(TUE, 9, 30), user),  # before the second application
        funnel_event(client_account, APPLICATION, at(TUE, 11), user, "B"),
        funnel_event(client_account, CONTACTED, at(TUE, 11, 30), user),
    )
    responses.sync(funnel)
    assert row_of(funnel, user).first_contact_at == at(TUE, 11, 30)
    events(funnel_event(client_account, APPLICATION, at(TUE, 9), user, "A"))
    result = responses.sync(funnel)
    assert result.updated == 1
    row = row_of(funnel, user)
    assert (row.applied_at, row.project, row.first_contact_at, row.response_minutes) == (
        at(TUE, 9),
        "A",
        at(TUE, 9, 30),
        30,
    )


def test_response_minutes_skip_weekend_holiday_and_closed_days(funnel, client_account):
    ClosedDay.objects.create(date=dt.date(2026, 11, 24), name="社内休業日")
    user = applicant(client_account)
    # Friday 20th 17:50 → Mon 23rd 勤労感謝の日, Tue 24th closed → Wed 25th 9:10: 10 + 10 minutes.
    events(
        funnel_event(client_account, APPLICATION, at(dt.date(2026, 11, 20), 17, 50), user),
        funnel_event(client_account, CONTACTED, at(dt.date(2026, 11, 25), 9, 10), user),
    )
    responses.sync(funnel)
    assert row_of(funnel, user).response_minutes == 20


def test_events_of_other_clients_and_kinds_are_left_alone(funnel, client_account):
    other = AccountFactory(kind="client")
    user = applicant(client_account)
    events(
        funnel_event(client_account, APPLICATION, at(TUE, 10), user),
        funnel_event(other, CONTACTED, at(TUE, 10, 5), user),  # another client's contact
        funnel_event(client_account, "login", at(TUE, 10, 6), user),
    )
    responses.sync(funnel)
    assert ApplicantResponse.objects.count() == 1
    assert row_of(funnel, user).first_contact_at is None


def test_sync_reads_in_chunks(funnel, client_account, monkeypatch):
    monkeypatch.setattr(responses, "CHUNK_EVENTS", 2)
    users = [applicant(client_account) for _ in range(5)]
    events(*(funnel_event(client_account, APPLICATION, at(TUE, 10, i), u) for i, u in enumerate(users)))
    result = responses.sync(funnel)
    assert (result.events, result.created) == (5, 5)


def test_scheduler_job_syncs_and_reports(funnel, client_account, monkeypatch):
    monkeypatch.setattr(responses, "BACKLOG_EVENT_IDS", 10**12)  # inline, whatever ids earlier tests used
    job = next(j for j in scheduled_jobs() if j.name == "funnels.responses")
    events(funnel_event(client_account, APPLICATION, at(TUE, 10), applicant(client_account)))
    assert "1" in (job.due(at(TUE, 10, 1)) or "")
    assert job.due(at(TUE, 10, 2)) is None


def test_funnel_without_contact_kind_is_not_synced(client_account):
    funnel = FunnelFactory(response_event_kind="")
    events(funnel_event(client_account, APPLICATION, at(TUE, 10), applicant(client_account)))
    assert responses.sync(funnel).events == 0
    assert not ApplicantResponse.objects.exists()


def test_a_backlog_goes_to_one_background_task_that_reads_it_all(funnel, client_account, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from banso.funnels.response_tasks import sync_responses

    monkeypatch.setattr(responses, "BACKLOG_EVENT_IDS", 2)
    monkeypatch.setattr(responses, "CHUNK_EVENTS", 2)
    users = [applicant(client_account) for _ in range(5)]
    events(*(funnel_event(client_account, APPLICATION, at(TUE, 10, i), u) for i, u in enumerate(users)))
    job = next(j for j in scheduled_jobs() if j.name == "funnels.responses")
    assert job.due(at(TUE, 10, 6)) == "first responses: backlog sync queued"
    assert job.due(at(TUE, 10, 7)) is None  # one task at a time
    assert DBTaskResult.objects.filter(task_path=sync_responses.module_path).count() == 1
    assert not ApplicantResponse.objects.exists()
    sync_responses.call()
    assert ApplicantResponse.objects.count() == 5


def test_the_funnels_own_business_hours_count(client_account):
    funnel = FunnelFactory(business_hours=[["10:00", "19:00"]])
    user = applicant(client_account)
    events(
        funnel_event(client_account, APPLICATION, at(TUE, 9, 30), user),
        funnel_event(client_account, CONTACTED, at(TUE, 10, 10), user),
    )
    responses.sync(funnel)
    assert row_of(funnel, user).response_minutes == 10
