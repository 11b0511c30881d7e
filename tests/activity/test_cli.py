"""`banso import`: the same engine from the command line, progress on stderr, non-zero on refusal."""

import io

import pytest
from django.core.management import CommandError, call_command

from banso.accounts.models import Account
from banso.activity.models import ImportJob

from .helpers import csv_bytes

pytestmark = pytest.mark.django_db


def test_cli_imports_a_file_and_reports_counts(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(csv_bytes("external_id,name", "A1,伴走", "A2,二社目", encoding="cp932"))
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "accounts", str(path), "--source", "crm", stdout=out, stderr=err)
    assert "2 created" in out.getvalue()
    assert Account.objects.count() == 2
    assert ImportJob.objects.get().status == "succeeded"


def test_cli_refusal_prints_row_errors_and_fails(tmp_path, capsys):
    path = tmp_path / "accounts.csv"
    path.write_bytes(csv_bytes("external_id,name", "A1,伴走", "A1,重複"))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "accounts", str(path), "--source", "crm", stderr=err)
    assert "row 3, column external_id" in err.getvalue()
    assert not Account.objects.exists()
