"""Funnel pages: the clients list sorted by loss with filters and exports, one client's funnel with the
numbers behind its bottleneck, "recompute now", the settings page's validation naming the field."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from banso.accounts.choices import AccountKind
from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.funnels import computing
from banso.funnels.models import FunnelRun, FunnelStage
from tests.accounts.factories import AccountFactory

from .factories import FunnelFactory, add_funnel

AS_OF = dt.date(2026, 10, 31)
DAY = dt.date(2026, 10, 20)


@pytest.fixture
def computed(db):
    """Four clients in one industry: three interview half their applicants, one (the bottleneck) a tenth."""
    funnel = FunnelFactory()
    clients = [AccountFactory(kind=AccountKind.CLIENT, industry="IT", name=f"顧客{i}") for i in range(4)]
    for client in clients[:3]:
        add_funnel(client, DAY, applied=20, interviewed=10, offered=5)
    add_funnel(clients[3], DAY, applied=20, interviewed=2, offered=1)
    run = computing.compute_now(funnel, AS_OF)
    return funnel, clients, run


def test_clients_sorted_by_loss_with_rates_against_benchmark(client_as, computed):
    _funnel, clients, _run = computed
    page = client_as(Role.CSM).get("/funnels/clients/")
    assert page.status_code == 200
    lines = page.context["lines"]
    assert lines[0]["cf"].account == clients[3]
    assert lines[0]["bottleneck"] == "面接実施"
    html = page.content.decode()
    assert "▼" in html and "10.0%" in html
    assert [line["cf"].loss_per_month for line in lines] == sorted(
        (line["cf"].loss_per_month for line in lines), reverse=True
    )


def test_clients_page_is_a_fixed_number_of_queries(client_as, computed, django_assert_max_num_queries):
    csm = client_as(Role.CSM)
    with django_assert_max_num_queries(12):
        assert csm.get("/funnels/clients/").status_code == 200


def test_clients_filters_by_owner(client_as, computed, user_with_role):
    _funnel, clients, _run = computed
    owner = user_with_role(Role.CSM)
    clients[1].owner = owner
    clients[1].save()
    page = client_as(Role.CSM).get(f"/funnels/clients/?owner={owner.pk}")
    assert [line["cf"].account for line in page.context["lines"]] == [clients[1]]


def test_clients_xlsx_has_counts_and_rates_formatted(client_as, computed):
    response = client_as(Role.CSM).get("/funnels/clients/export.xlsx")
    ws = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in ws[1]]
    first = list(ws[2])
    assert first[0].value == "顧客3"
    assert first[header.index("応募")].value == 20
    assert first[header.index("応募")].number_format == "#,##0"
    assert first[header.index("面接実施率")].value == pytest.approx(0.1)
    assert first[header.index("面接実施率")].number_format == "0.0%"


def test_clients_csv_lists_every_client(client_as, computed):
    text = client_as(Role.CSM).get("/funnels/clients/export.csv").content.decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 5 and "顧客3" in text.splitlines()[1]


def test_client_page_shows_the_numbers_behind_the_bottleneck(client_as, computed):
    _funnel, clients, _run = computed
    page = client_as(Role.CSM).get(f"/funnels/clients/{clients[3].pk}/")
    assert page.status_code == 200
    view = page.context["view"]
    interview = view.terms[0]
    # benchmark: the other three clients pooled, 30 / 60
    assert (interview.previous, interview.benchmark, interview.actual) == (20, 0.5, 2)
    assert interview.expected == pytest.approx(10) and interview.shortfall == pytest.approx(8)
    # carried through the client's own offer rate 1/2: 4 offers lost in 30 days
    assert interview.lost_per_month == pytest.approx(4.0)
    assert 'data-chart="chart-funnel"' in page.content.decode()
    assert view.trend and view.trend[-1]["counts"] == [20, 2, 1]


def test_recompute_now_queues_a_run_for_managers_only(client_as, computed, django_capture_on_commit_callbacks):
    funnel, _clients, _run = computed
    assert client_as(Role.CSM).post("/funnels/recompute/").status_code == 403
    with django_capture_on_commit_callbacks(execute=False):
        response = client_as(Role.OPS_MANAGER).post("/funnels/recompute/")
    run = FunnelRun.objects.filter(funnel=funnel).latest("created_at")
    assert response["Location"] == f"/funnels/runs/{run.pk}/" and run.status == "queued"


def _post(funnel_stages, **extra):
    data = {
        "name": "採用",
        "peer_attribute": "industry",
        "project_property": "project",
        "period_days": "30",
        "history_periods": "6",
        "response_event_kind": "applicant_contacted",
        "response_target_minutes": "15",
        "hours-0-start": "09:00",
        "hours-0-end": "12:00",
        "hours-1-start": "13:00",
        "hours-1-end": "18:00",
    }
    for i, (order, label, kind) in enumerate(funnel_stages):
        data |= {f"stages-{i}-order": str(order), f"stages-{i}-label": label, f"stages-{i}-event_kind": kind}
        data[f"stages-{i}-rate_label"] = ""
    return data | extra


def test_settings_reorder_and_add_stage_keep_stage_rows(client_as, db):
    funnel = FunnelFactory()
    interview = FunnelStage.objects.get(funnel=funnel, event_kind="interview_held")
    data = _post([(1, "応募", "application"), (3, "面接実施", "interview_held"), (2, "書類通過", "screened")])
    data |= {"stages-1-id": str(interview.pk), "stages-3-order": "4", "stages-3-label": "", "stages-3-event_kind": ""}
    response = client_as(Role.OPS_MANAGER).post(f"/funnels/settings/{funnel.pk}/", data)
    assert response.status_code == 302
    assert list(funnel.stages.order_by("position").values_list("event_kind", flat=True)) == [
        "application",
        "screened",
        "interview_held",
    ]
    assert FunnelStage.objects.get(pk=interview.pk).position == 3  # the same row, moved
    assert AuditEntry.objects.filter(object_type="funnels.funnel", object_id=str(funnel.pk)).exists()


def test_settings_refuse_duplicate_kind_and_overlapping_hours_naming_the_field(client_as, db):
    funnel = FunnelFactory()
    data = _post([(1, "応募", "application"), (2, "面接", "application")], **{"hours-1-start": "11:00"})
    response = client_as(Role.OPS_MANAGER).post(f"/funnels/settings/{funnel.pk}/", data)
    assert response.status_code == 422
    fields = [field for field, _message in response.context["errors"]]
    assert fields == ["stages.1.event_kind", "business_hours.1"]
    assert funnel.stages.count() == 3


def test_settings_refuse_a_single_stage_and_csm(client_as, db):
    funnel = FunnelFactory()
    assert client_as(Role.CSM).get(f"/funnels/settings/{funnel.pk}/").status_code == 403
    response = client_as(Role.OPS_MANAGER).post(f"/funnels/settings/{funnel.pk}/", _post([(1, "応募", "application")]))
    assert ("stages", "A funnel needs at least two stages.") in [(f, m) for f, m in response.context["errors"]] or any(
        f == "stages" for f, _m in response.context["errors"]
    )


def test_account_360_shows_the_funnel_card_for_counted_clients_only(client_as, computed):
    _funnel, clients, _run = computed
    csm = client_as(Role.CSM)
    html = csm.get(f"/accounts/{clients[3].pk}/").content.decode()
    assert 'id="funnel-card"' in html and "面接実施 2 (10.0%)" in html
    other = AccountFactory(kind=AccountKind.CUSTOMER)
    assert 'id="funnel-card"' not in csm.get(f"/accounts/{other.pk}/").content.decode()


def test_client_page_for_a_project_and_an_earlier_day_is_computed_on_the_spot(client_as, computed):
    _funnel, clients, _run = computed
    add_funnel(clients[0], DAY, applied=3, interviewed=1, project="営業職 2026春")
    csm = client_as(Role.CSM)
    view = csm.get(f"/funnels/clients/{clients[0].pk}/?project=営業職 2026春&as_of=2026-10-31").context["view"]
    assert view.live and [line.count for line in view.stages] == [3, 1, 0]
    before = csm.get(f"/funnels/clients/{clients[0].pk}/?as_of=2026-10-01").context["view"]
    assert [line.count for line in before.stages] == [0, 0, 0]
    assert [line.rate for line in before.stages] == [None, None, None]
