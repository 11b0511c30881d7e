"""Trigger evaluations as background runs: the page and its "evaluate now" button, the API, the command line
and the hourly scheduled job."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings

from banso.core.choices import Role
from banso.core.models import RunStatus
from banso.core.schedule import scheduled_jobs
from banso.playbooks import triggers
from banso.playbooks.models import PlaybookRun, TriggerKind, TriggerRun

from ..accounts.factories import AccountFactory
from .factories import PlaybookFactory
from .factories_triggers import NOW, TOKYO

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
pytestmark = pytest.mark.django_db


@pytest.fixture
def renewal_playbook():
    """A playbook that fires for the one account renewing in 30 days."""
    today = dt.datetime.now(TOKYO).date()
    AccountFactory(name="更新間近株式会社", next_renewal_date=today + dt.timedelta(days=30))
    AccountFactory(name="まだ先株式会社", next_renewal_date=today + dt.timedelta(days=90))
    return PlaybookFactory(name="更新60日前フォロー", trigger=TriggerKind.RENEWAL_DUE, trigger_params={"days": 30})


def test_a_manager_evaluates_now_and_sees_what_started(client_as, renewal_playbook, django_capture_on_commit_callbacks):
    client = client_as(Role.OPS_MANAGER)
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/playbooks/triggers/evaluate/")
    run = TriggerRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/playbooks/triggers/{run.pk}/"
    assert (run.status, run.runs_started, run.accounts_checked) == (RunStatus.SUCCEEDED, 1, 2)
    assert run.results[0]["name"] == "更新60日前フォロー" and run.results[0]["started"] == 1
    assert PlaybookRun.objects.get().account.name == "更新間近株式会社"
    page = client.get(response["Location"]).content.decode()
    assert "更新60日前フォロー" in page and "完了" in page
    listing = client.get("/playbooks/triggers/").content.decode()
    assert "更新60日前フォロー" in listing and 'action="/playbooks/triggers/evaluate/"' in listing


def test_progress_fragment_polls_while_queued_and_reloads_when_done(client_as):
    client = client_as(Role.CSM)
    run = TriggerRun.objects.create(as_of=NOW.date())
    fragment = client.get(f"/playbooks/triggers/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in fragment.content.decode() and "HX-Refresh" not in fragment
    run.status = RunStatus.SUCCEEDED
    run.save()
    done = client.get(f"/playbooks/triggers/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"


def test_a_csm_sees_evaluations_but_cannot_start_one(client_as):
    client = client_as(Role.CSM)
    assert "/playbooks/triggers/evaluate/" not in client.get("/playbooks/triggers/").content.decode()
    assert client.post("/playbooks/triggers/evaluate/").status_code == 403
    assert not TriggerRun.objects.exists()


def test_a_second_evaluate_now_while_one_waits_shows_that_one(client_as):
    client = client_as(Role.OPS_MANAGER)
    first = client.post("/playbooks/triggers/evaluate/")
    second = client.post("/playbooks/triggers/evaluate/")
    assert first["Location"] == second["Location"] and TriggerRun.objects.count() == 1


def test_api_queues_an_evaluation_and_reports_it(api_as, renewal_playbook, django_capture_on_commit_callbacks):
    client = api_as(Role.OPS_MANAGER)
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/playbooks/triggers/evaluate")
    assert response.status_code == 202
    run = client.get(f"/api/playbooks/triggers/runs/{response.json()['id']}").json()
    assert run["status"] == "succeeded" and run["runs_started"] == 1
    assert run["results"][0] | {"error": ""} == {
        "playbook_id": renewal_playbook.pk,
        "name": "更新60日前フォロー",
        "trigger": "renewal_due",
        "fired": 1,
        "matched": 1,
        "started": 1,
        "error": "",
    }
    assert api_as(Role.CSM).post("/api/playbooks/triggers/evaluate").status_code == 403
    assert client.get("/api/playbooks/triggers/runs/999999").status_code == 404


def test_command_evaluates_and_prints_what_started(renewal_playbook, capsys):
    call_command("playbooks", "evaluate")
    out = capsys.readouterr().out
    assert "更新60日前フォロー [renewal_due]: fired 1, matched 1, started 1" in out
    assert "1 runs started over 2 accounts" in out
    call_command("playbooks", "evaluate")  # the same causes: nothing new
    assert "0 runs started" in capsys.readouterr().out
    assert TriggerRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 2


def test_command_as_of_another_day(renewal_playbook, capsys):
    day = dt.datetime.now(TOKYO).date() - dt.timedelta(days=10)  # the renewal was 40 days away then
    call_command("playbooks", "evaluate", "--as-of", day.isoformat())
    assert f"as of {day}: 0 runs started" in capsys.readouterr().out


def test_scheduled_evaluation_is_queued_once_an_hour(renewal_playbook):
    ten = dt.datetime(2026, 11, 20, 10, 5, tzinfo=TOKYO)
    first = triggers.due_evaluation(ten)
    assert first is not None
    assert triggers.due_evaluation(ten + dt.timedelta(minutes=50)) is None
    assert triggers.due_evaluation(ten + dt.timedelta(minutes=56)) is None  # the 10:00 one still waits
    TriggerRun.objects.filter(pk=first.pk).update(status=RunStatus.SUCCEEDED)
    later = triggers.due_evaluation(ten + dt.timedelta(minutes=56))
    assert later is not None and (later.slot, later.scheduled) == (11, True)


def test_nothing_is_scheduled_without_a_watching_playbook():
    PlaybookFactory(trigger=TriggerKind.MANUAL)
    job = next(job for job in scheduled_jobs() if job.name == "playbooks.triggers")
    assert job.due(NOW) is None and not TriggerRun.objects.exists()
