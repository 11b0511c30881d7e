"""`banso success plan|renewals|kpis`: the month's plan, the renewal sync and the KPI workbook from the shell."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from banso.accounts.choices import ContractStatus
from banso.success.models import CoveragePlan, Renewal
from tests.accounts.factories import AccountFactory, ContractFactory
from tests.core.factories import UserFactory

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command("success", *args, stdout=out)
    return out.getvalue()


def test_plan_command_generates_and_locks_a_month_with_its_renewals():
    csm = UserFactory()
    account = AccountFactory(owner=csm, mrr=100_000)
    ContractFactory(account=account, renewal_date=dt.date(2027, 2, 15), status=ContractStatus.ACTIVE)
    out = _run("plan", "--month", "2027-02", "--lock")
    plan = CoveragePlan.objects.get(month=dt.date(2027, 2, 1))
    assert plan.locked
    assert list(plan.targets.values_list("account_id", "assignee_id")) == [(account.pk, csm.pk)]
    assert "2027-02: 1 targets (locked)" in out


def test_plan_command_refuses_a_locked_month_and_a_malformed_one():
    UserFactory()
    _run("plan", "--month", "2027-03", "--lock")
    with pytest.raises(CommandError, match="確定済み"):
        _run("plan", "--month", "2027-03")
    with pytest.raises(CommandError, match="--month: expected YYYY-MM"):
        _run("plan", "--month", "2027-3x")


def test_renewals_command_opens_a_renewal_for_an_upcoming_renewal_date():
    contract = ContractFactory(renewal_date=dt.date.today() + dt.timedelta(days=40), status=ContractStatus.ACTIVE)
    out = _run("renewals")
    assert Renewal.objects.filter(contract=contract).count() == 1
    assert "1 opened" in out


def test_kpis_command_writes_a_workbook_and_names_an_unknown_team(tmp_path):
    target = tmp_path / "kpis.xlsx"
    out = _run("kpis", "--month", "2026-11", "-o", str(target))
    assert "2026-11" in out
    assert load_workbook(target).sheetnames  # a real workbook, read back
    with pytest.raises(CommandError, match="no team named"):
        _run("kpis", "--team", "存在しないチーム", "-o", str(target))
