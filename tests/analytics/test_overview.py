"""The analytics overview: counts, the recompute runs with their progress, and the button that starts one."""

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from banso.analytics import services
from banso.analytics.models import AnalyticsRun, RunStatus
from banso.core.choices import Role
from tests.activity.factories import AccountFactory

from .factories import MetricDefinitionFactory, SegmentFactory, logins

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
READERS = [Role.ADMIN, Role.OPS_MANAGER, Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER]


@pytest.mark.parametrize("role", READERS)
def test_every_internal_role_reads_the_overview_in_japanese(client_as, role):
    MetricDefinitionFactory()
    SegmentFactory()
    page = client_as(role).get(reverse("analytics:index")).content.decode()
    assert "<h1>分析</h1>" in page
    assert "指標カタログ" in page and "まだ再計算は実行されていません。" in page
    assert "カスタム 1" in page


@pytest.mark.parametrize("role", [Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER])
def test_only_managers_see_and_may_use_the_recompute_button(client_as, role):
    client = client_as(role)
    assert "今すぐ再計算" not in client.get(reverse("analytics:index")).content.decode()
    assert client.post(reverse("analytics:run_start")).status_code == 403
    assert not AnalyticsRun.objects.exists()


def test_recompute_now_queues_a_run_for_the_worker_and_its_page_polls_progress(
    client_as, django_capture_on_commit_callbacks
):
    client = client_as(Role.OPS_MANAGER)
    assert "今すぐ再計算" in client.get(reverse("analytics:index")).content.decode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("analytics:run_start"))
    run = AnalyticsRun.objects.get()
    assert len(queued) == 1  # the task is sent once the run row is committed
    assert response.url == reverse("analytics:run", args=[run.pk])
    assert run.status == RunStatus.QUEUED and run.triggered_by is not None
    page = client.get(response.url).content.decode()
    assert reverse("analytics:run_progress", args=[run.pk]) in page and 'hx-trigger="every 1s"' in page
    assert "待機中" in page
    overview = client.get(reverse("analytics:index")).content.decode()
    assert reverse("analytics:runs") in overview  # the list of runs polls while one is waiting


def test_a_second_click_while_a_run_waits_shows_that_run_instead_of_queueing_another(client_as):
    client = client_as(Role.ADMIN)
    first = client.post(reverse("analytics:run_start"))
    second = client.post(reverse("analytics:run_start"), follow=True)
    assert AnalyticsRun.objects.count() == 1
    assert second.redirect_chain[-1][0] == first.url
    assert "再計算はすでに待機中または実行中です" in second.content.decode()


@override_settings(TASKS=IMMEDIATE)
def test_a_finished_run_shows_its_counts_and_the_progress_panel_reloads_the_page(
    client_as, django_capture_on_commit_callbacks
):
    account = AccountFactory()
    logins(account, timezone.localdate(), [0, 1])
    SegmentFactory()
    client = client_as(Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("analytics:run_start"))
    run = AnalyticsRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.events_synced == 2 and run.segments_refreshed == 1
    progress = client.get(reverse("analytics:run_progress", args=[run.pk]), headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"
    page = client.get(response.url).content.decode()
    assert "完了" in page and "every 1s" not in page
    assert "every 2s" not in client.get(reverse("analytics:index")).content.decode()


def test_a_failed_run_shows_its_error(client_as):
    run = AnalyticsRun.objects.create(
        as_of=timezone.localdate(), status=RunStatus.FAILED, error="BackendError: engine down"
    )
    page = client_as(Role.VIEWER).get(reverse("analytics:run", args=[run.pk])).content.decode()
    assert "再計算に失敗しました。" in page and "BackendError: engine down" in page


def test_overview_names_the_day_of_the_last_successful_run(client_as):
    run = services.recompute_now()
    page = client_as(Role.CSM).get(reverse("analytics:index")).content.decode()
    assert f"指標とセグメントは{run.as_of:%Y-%m-%d}時点のものです" in page
    assert "コマンドライン" in page
