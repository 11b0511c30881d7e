"""KPI pages: the month's table with charts, a person's page, drill-down lists and who may see them."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import Team

from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory, TouchFactory

pytestmark = pytest.mark.django_db
APRIL = dt.date(2026, 4, 1)


def _april_plan():
    csm = UserFactory(display_name="山田")
    plan = CoveragePlanFactory(month=APRIL)
    touched = CoverageTargetFactory(plan=plan, assignee=csm, account__name="触れた商事")
    untouched = CoverageTargetFactory(plan=plan, assignee=csm, account__name="未接触工業")
    TouchFactory(
        account=touched.account, csm=csm, occurred_at=dt.datetime(2026, 4, 8, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    )
    return csm, touched, untouched


def test_kpi_page_shows_each_person_the_team_total_and_the_charts(client_as):
    csm, _touched, _untouched = _april_plan()

    response = client_as(Role.VIEWER).get(reverse("success:kpis"), {"month": "2026-04"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "山田" in page and "50.0%" in page
    for chart in ("chart-touches", "chart-rates", "chart-retention"):
        assert f'data-chart="{chart}"' in page
    rows = response.context["result"].rows
    touches = response.context["charts"]["touches"]["data"]["datasets"][0]["data"]
    assert touches[[r.user_id for r in rows].index(csm.pk)] == 1


def test_drill_down_lists_the_accounts_behind_the_number_with_links_to_the_360_page(client_as):
    csm, _touched, untouched = _april_plan()
    client = client_as(Role.CSM)

    response = client.get(reverse("success:kpi_drill", args=["not_touched"]), {"month": "2026-04", "person": csm.pk})

    page = response.content.decode()
    assert "未接触工業" in page and "触れた商事" not in page
    assert reverse("accounts:detail", args=[untouched.account_id]) in page


def test_team_filter_keeps_only_its_members(client_as):
    _april_plan()
    team = Team.objects.create(name="西日本")
    member = UserFactory(display_name="佐藤")
    team.members.add(member)

    response = client_as(Role.OPS_MANAGER).get(reverse("success:kpis"), {"month": "2026-04", "team": team.pk})

    assert [r.user_id for r in response.context["result"].rows] == [member.pk]
    assert "山田" not in response.content.decode()


def test_a_csm_reaches_their_own_figures(client_as):
    client = client_as(Role.CSM)

    response = client.get(reverse("success:kpi_me"), {"month": "2026-04"}, follow=True)

    assert response.status_code == 200
    assert response.context["is_me"] and response.context["month"] == APRIL
    assert 'data-chart="chart-rates"' in response.content.decode()


def test_unknown_drill_down_is_not_found_and_merchants_are_refused(client_as):
    assert client_as(Role.VIEWER).get(reverse("success:kpi_drill", args=["bogus"])).status_code == 404
    assert client_as(Role.MERCHANT_USER).get(reverse("success:kpis")).status_code == 403


# --- JSON API ----------------------------------------------------------------------------------------------


def test_api_gives_the_month_per_person_with_rates_as_fractions_and_none_for_nothing(api_as):
    csm, _touched, _untouched = _april_plan()
    client = api_as(Role.VIEWER)

    data = client.get("/api/success/kpis", {"month": "2026-04"}).json()

    person = next(p for p in data["people"] if p["user_id"] == csm.pk)
    assert person["figures"]["touch_rate"] == 0.5 and person["figures"]["grr"] is None
    assert data["total"]["user_id"] is None and len(data["trend"]) == 12
    assert data["targets"]["touches_min"] == 30


def test_api_drill_down_pages_the_accounts_and_refuses_bad_input(api_as):
    csm, _touched, untouched = _april_plan()
    client = api_as(Role.CSM)

    page = client.get("/api/success/kpis/drill/not_touched", {"month": "2026-04", "person": csm.pk}).json()
    assert (page["count"], page["kind"]) == (1, "targets")
    assert page["results"][0]["account_id"] == untouched.account_id

    bad = client.get("/api/success/kpis", {"month": "April"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "month"
    assert client.get("/api/success/kpis/drill/bogus").json()["detail"][0]["field"] == "metric"
