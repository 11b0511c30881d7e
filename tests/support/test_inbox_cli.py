"""`banso support inquiries` (list, CSV export) and `banso support assign`."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from banso.support.models import Inquiry

from .factories import AgentFactory, InquiryFactory, SupportTeamFactory

pytestmark = pytest.mark.django_db


def test_exporting_inquiries_of_one_status_to_csv(tmp_path):
    wanted = InquiryFactory(status="solved", subject="返金のお願い", tags=["返金"])
    InquiryFactory(status="open")
    path = tmp_path / "inquiries.csv"
    call_command("support", "inquiries", "--status", "solved", "--csv", str(path), stdout=io.StringIO())
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["number"], r["subject"], r["tags"]) for r in rows] == [(str(wanted.number), "返金のお願い", "返金")]


def test_an_unknown_status_is_refused_naming_the_option(tmp_path):
    with pytest.raises(CommandError, match="--status"):
        call_command("support", "inquiries", "--status", "nope", stdout=io.StringIO())


def test_assigning_from_the_command_line_is_all_or_nothing():
    agent = AgentFactory()
    team = SupportTeamFactory(support__round_robin=False)
    a, b = InquiryFactory(), InquiryFactory()
    out = io.StringIO()
    call_command(
        "support", "assign", str(a.number), str(b.number), "--to", agent.username, "--team", team.name, stdout=out
    )
    assert set(Inquiry.objects.filter(assignee=agent, team=team).values_list("number", flat=True)) == {
        a.number,
        b.number,
    }
    with pytest.raises(CommandError, match="99999"):
        call_command("support", "assign", str(a.number), "99999", "--nobody", stdout=out)
    assert Inquiry.objects.get(pk=a.pk).assignee == agent
