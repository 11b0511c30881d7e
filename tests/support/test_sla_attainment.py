"""SLA attainment on a hand-built month: counts, attainment rate, median and p90 per target, agent and team, the
same figures on the page, in the API, in the CLI and in the XLSX workbook read back."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from banso.core.choices import Role
from banso.support import sla_attainment
from banso.support.models import SlaMeasurement, SlaMetric

from .factories import AgentFactory, InquiryFactory, SupportTeamFactory

TOKYO = ZoneInfo("Asia/Tokyo")
pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=TOKYO)


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def add(inquiry, metric, due, *, minutes=None, breached=False, achieved=True, agent=None, team=None, target=30):
    return SlaMeasurement.objects.create(
        inquiry=inquiry,
        metric=metric,
        target_minutes=target,
        started_at=due - dt.timedelta(minutes=target),
        due_at=due,
        achieved_at=due if achieved else None,
        business_minutes=minutes,
        breached=breached,
        assignee=agent,
        team=team,
    )


@pytest.fixture
def month():
    """November 2026: Sato met 3 first responses (10, 20, 30 min) and breached 1 (50 min); Suzuki met 1 (5)
    and has one open first response past due (counted as breached); one resolution met (400). Outside the
    month: one due 1 Dec 00:00 JST (December) and one due 31 Oct 23:59 JST (October)."""
    team = SupportTeamFactory(name="一次対応課")
    sato = AgentFactory(display_name="佐藤")
    suzuki = AgentFactory(display_name="鈴木")
    FR = SlaMetric.FIRST_RESPONSE
    inquiries = [InquiryFactory(assignee=sato if i < 4 else suzuki, team=team) for i in range(7)]
    add(inquiries[0], FR, jst(2026, 11, 2, 10), minutes=10, agent=sato, team=team)
    add(inquiries[1], FR, jst(2026, 11, 3, 10), minutes=20, agent=sato, team=team)
    add(inquiries[2], FR, jst(2026, 11, 4, 10), minutes=30, agent=sato, team=team)
    add(inquiries[3], FR, jst(2026, 11, 5, 10), minutes=50, breached=True, agent=sato, team=team)
    add(inquiries[4], FR, jst(2026, 11, 6, 10), minutes=5, agent=suzuki, team=team)
    add(inquiries[5], FR, jst(2026, 11, 30, 17), achieved=False)  # open, past due, not yet marked
    add(inquiries[6], SlaMetric.RESOLUTION, jst(2026, 11, 20, 10), minutes=400, agent=suzuki, team=team, target=480)
    add(inquiries[6], FR, jst(2026, 12, 1, 0), minutes=1, agent=suzuki, team=team)
    add(inquiries[6], FR, jst(2026, 10, 31, 23, 59), minutes=1, agent=suzuki, team=team)
    return {"team": team, "sato": sato, "suzuki": suzuki, "inquiries": inquiries}


def row(rows, key, metric):
    return next(r for r in rows if r.key == key and r.metric == metric)


def test_month_attainment_per_target_agent_and_team(month):
    report = sla_attainment.build(dt.date(2026, 11, 1), dt.date(2026, 11, 30), now=NOW)
    first = row(report.totals, None, SlaMetric.FIRST_RESPONSE).figures
    assert (first.due, first.met, first.breached, first.running) == (6, 4, 2, 0)
    assert first.attainment == pytest.approx(4 / 6)
    assert first.median == 20  # of 10, 20, 30, 50, 5
    assert first.p90 == 50
    sato = row(report.agents, month["sato"].pk, SlaMetric.FIRST_RESPONSE).figures
    assert (sato.due, sato.met, sato.breached, sato.attainment) == (4, 3, 1, 0.75)
    assert (sato.median, sato.p90) == (25, 50)
    suzuki = row(report.agents, month["suzuki"].pk, SlaMetric.FIRST_RESPONSE).figures
    # The open one past due belongs to the inquiry's current assignee.
    assert (suzuki.due, suzuki.met, suzuki.breached) == (2, 1, 1)
    team = row(report.teams, month["team"].pk, SlaMetric.FIRST_RESPONSE).figures
    assert (team.due, team.met, team.breached) == (6, 4, 2)
    resolution = row(report.totals, None, SlaMetric.RESOLUTION).figures
    assert (resolution.due, resolution.met, resolution.median) == (1, 1, 400)
    assert sorted(sato.breached_numbers) == [month["inquiries"][3].number]


def test_open_target_not_yet_due_is_running_not_counted():
    inquiry = InquiryFactory()
    add(inquiry, SlaMetric.FIRST_RESPONSE, NOW + dt.timedelta(hours=1), achieved=False)
    report = sla_attainment.build(dt.date(2026, 12, 1), dt.date(2026, 12, 31), now=NOW)
    figures = row(report.totals, None, SlaMetric.FIRST_RESPONSE).figures
    assert (figures.due, figures.running, figures.attainment) == (1, 1, None)


def test_report_page_shows_the_figures_and_drills_down_to_the_inbox(month, client_as):
    response = client_as(Role.SUPPORT_AGENT).get(reverse("support:sla_report"), {"month": "2026-11"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "佐藤" in html and "一次対応課" in html
    assert f"{reverse('support:inbox')}?view=all&amp;numbers={month['inquiries'][3].number}" in html


def test_report_page_refuses_a_malformed_month(client_as):
    assert client_as(Role.SUPPORT_AGENT).get(reverse("support:sla_report"), {"month": "2026-13"}).status_code == 404


def test_xlsx_download_has_numbers_with_formats(month, client_as):
    response = client_as(Role.OPS_MANAGER).get(reverse("support:sla_report_xlsx"), {"month": "2026-11"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    agents = book.worksheets[2]
    values = [[c.value for c in r] for r in agents.iter_rows(min_row=2)]
    sato = next(v for v in values if v[0] == "佐藤" and v[2] == 4)
    assert sato[2:7] == [4, 3, 1, 0, 0.75]
    rate_cell = next(r for r in agents.iter_rows(min_row=2) if r[0].value == "佐藤" and r[2].value == 4)[6]
    assert rate_cell.number_format == "0.0%"


def test_api_attainment_for_a_month(month, api_as):
    response = api_as(Role.SUPPORT_AGENT).get("/api/support/sla/attainment", {"month": "2026-11"})
    assert response.status_code == 200
    body = response.json()
    first = next(t for t in body["totals"] if t["metric"] == "first_response")
    assert (first["due"], first["met"]) == (6, 4)
    sato = next(a for a in body["agents"] if a["agent_id"] == month["sato"].pk and a["metric"] == "first_response")
    assert sato["attainment"] == 0.75


def test_api_refuses_a_bad_month_naming_it(api_as):
    response = api_as(Role.SUPPORT_AGENT).get("/api/support/sla/attainment", {"month": "11/2026"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "month"


def test_cli_writes_the_workbook(month, tmp_path):
    out = io.StringIO()
    target = tmp_path / "sla.xlsx"
    call_command("support", "sla-report", "--month", "2026-11", "--xlsx", str(target), stdout=out)
    assert "2026-11 first_response: due 6, met 4" in out.getvalue()
    book = load_workbook(target)
    assert len(book.worksheets) == 4


def test_drill_down_link_lists_just_those_inquiries_in_the_inbox(month, client_as):
    from banso.support import desk

    wanted = [month["inquiries"][3].number, month["inquiries"][5].number]
    found = desk.filter_inquiries(None, {"view": "all", "numbers": ",".join(map(str, wanted))})
    assert sorted(found.values_list("number", flat=True)) == sorted(wanted)
    with pytest.raises(desk.DeskError) as caught:
        desk.filter_inquiries(None, {"view": "all", "numbers": "12,abc"})
    assert caught.value.field == "numbers"
    response = client_as(Role.SUPPORT_AGENT).get(reverse("support:inbox"), {"view": "all", "numbers": str(wanted[0])})
    assert response.status_code == 200
    html = response.content.decode()
    assert month["inquiries"][3].subject in html
    assert month["inquiries"][0].subject not in html
