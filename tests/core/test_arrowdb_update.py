"""`arrowdb.update_rows`: saved instances' chosen fields written by primary key, the others left alone."""

import pytest

from banso.core.arrowdb import update_rows
from banso.core.models import Team, User

pytestmark = pytest.mark.django_db


def test_only_the_named_fields_are_written_for_each_row():
    lead = User.objects.create(username="lead")
    teams = [Team.objects.create(name=f"チーム{i}") for i in range(3)]
    for i, team in enumerate(teams):
        team.name = f"新チーム{i}"
        team.lead = lead  # changed in memory, not named: stays as stored
    assert update_rows(teams[:2], ["name"]) == 2
    stored = {t.pk: (t.name, t.lead_id) for t in Team.objects.all()}
    assert stored == {
        teams[0].pk: ("新チーム0", None),
        teams[1].pk: ("新チーム1", None),
        teams[2].pk: ("チーム2", None),
    }
    assert update_rows([], ["name"]) == 0
