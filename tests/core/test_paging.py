"""Paging by id first returns the same pages as plain offset paging, in the same order."""

import pytest
from django.core.paginator import Paginator

from banso.core.models import Team
from banso.core.paging import IdFirstList

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    Team.objects.bulk_create(Team(name=f"チーム{i:03d}") for i in range(57))
    return Team.objects.order_by("-name")


def test_pages_match_offset_paging(teams):
    plain, by_id = Paginator(teams, 10), Paginator(IdFirstList(teams), 10)
    assert by_id.count == plain.count == 57
    for number in plain.page_range:
        assert list(by_id.page(number).object_list) == list(plain.page(number).object_list)


def test_a_capped_search_counts_only_up_to_the_cap(teams):
    capped = IdFirstList(teams.filter(name__contains="チーム"), search_cap=20)
    assert capped.capped and capped.count() == 20
    assert [t.name for t in capped[:3]] == ["チーム056", "チーム055", "チーム054"]
    assert not IdFirstList(teams.filter(name="チーム001"), search_cap=20).capped
