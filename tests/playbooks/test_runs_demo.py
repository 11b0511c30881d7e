"""The playbooks demo: templates and playbooks that pass the editor's checks, past runs of the renewal
playbook that give its page an effect to show, and a re-run that adds nothing."""

import datetime as dt

import pytest

from banso.core.demo import DemoContext, Progress
from banso.core.management.commands.demo import run_demo
from banso.playbooks import templating
from banso.playbooks.effect import playbook_effect
from banso.playbooks.models import EmailTemplate, Playbook, PlaybookRun, RunStep, TaskTemplate

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)
ONLY = ("core", "accounts", "success", "playbooks")


def build():
    run_demo(DemoContext(accounts=120, csms=3, today=TODAY, progress=Progress(quiet=True)), only=ONLY)


def test_demo_playbooks_have_runs_and_an_effect_and_a_rerun_adds_nothing():
    build()
    assert Playbook.objects.count() == 4 and TaskTemplate.objects.count() == 4
    for template in EmailTemplate.objects.all():
        assert templating.check(template.subject) == [] and templating.check(template.body) == []
    renewal = Playbook.objects.get(name="更新90日前フォロー")
    assert list(renewal.steps.values_list("action", "condition")) == [("email", "always"), ("task", "no_reply")]
    runs = PlaybookRun.objects.filter(playbook=renewal)
    assert runs.exists() and RunStep.objects.filter(run__in=runs).count() == 2 * runs.count()
    found = playbook_effect(renewal, today=TODAY)
    assert found.treated.decided > 0 and found.control.decided > 0

    counts = (Playbook.objects.count(), PlaybookRun.objects.count(), RunStep.objects.count())
    build()
    assert (Playbook.objects.count(), PlaybookRun.objects.count(), RunStep.objects.count()) == counts
