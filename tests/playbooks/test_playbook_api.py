"""The playbooks API: playbooks with nested steps, templates, runs, manual start and cancel; 422 names the
field, and each operation checks its capability."""

import pytest

from banso.core.choices import Role
from banso.playbooks.models import EmailTemplate, Playbook, PlaybookRun, PlaybookRunStatus

from ..accounts.factories import AccountFactory
from .factories import PlaybookFactory, RunFactory, StepFactory, TaskTemplateFactory

pytestmark = pytest.mark.django_db
BASE = "/api/playbooks"


def post(client, url, body, method="post"):
    return getattr(client, method)(url, body, content_type="application/json")


def test_a_playbook_is_created_with_nested_steps(api_as):
    template = TaskTemplateFactory()
    body = {
        "name": "更新前フォロー",
        "trigger": "manual",
        "steps": [
            {"action": "webhook", "params": {"url": "https://hooks.example.jp/a", "text": "{{ account.name }}"}},
            {"wait_days": 3, "condition": "no_reply", "action": "task", "params": {"template_id": template.pk}},
        ],
    }
    response = post(api_as(Role.OPS_MANAGER), f"{BASE}/", body)
    assert response.status_code == 201, response.content
    out = response.json()
    assert [(s["position"], s["action"], s["condition"]) for s in out["steps"]] == [
        (1, "webhook", "always"),
        (2, "task", "no_reply"),
    ]
    assert Playbook.objects.get().steps.count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"cooldown_days": -1}, "cooldown_days"),
        ({"trigger": "nonsense"}, "trigger"),
        ({"steps": [{"action": "add_tag", "params": {"tag": ""}}]}, "steps.0.params.tag"),
        ({"steps": [{"action": "add_tag", "params": {"tag": "a"}}, {"action": "fly"}]}, "steps.1.action"),
        ({"steps": [{"action": "email", "params": {"template_id": 999}}]}, "steps.0.params.template_id"),
        (
            {"steps": [{"action": "webhook", "params": {"url": "https://x.jp", "text": "{{ acount.name }}"}}]},
            "steps.0.params.text",
        ),
    ],
)
def test_refusals_name_the_field_and_write_nothing(api_as, change, field):
    response = post(api_as(Role.ADMIN), f"{BASE}/", {"name": "x", **change})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["detail"]]
    assert not Playbook.objects.exists()


def test_put_replaces_settings_and_steps(api_as):
    playbook = PlaybookFactory(name="旧")
    StepFactory(playbook=playbook, position=1)
    body = {"name": "新", "steps": [{"action": "add_tag", "params": {"tag": "a"}}]}
    response = post(api_as(Role.ADMIN), f"{BASE}/{playbook.pk}", body, method="put")
    assert response.status_code == 200
    playbook.refresh_from_db()
    assert playbook.name == "新"
    assert list(playbook.steps.values_list("action", "params")) == [("add_tag", {"tag": "a"})]


def test_start_and_cancel_a_run(api_as):
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook, position=1, action="add_tag", params={"tag": "a"})
    account = AccountFactory()
    csm = api_as(Role.CSM)

    response = post(csm, f"{BASE}/{playbook.pk}/start", {"account_id": account.pk})
    assert response.status_code == 201
    run_id = response.json()["id"]
    assert response.json()["status"] == "active"

    again = post(csm, f"{BASE}/{playbook.pk}/start", {"account_id": account.pk})
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "account_id"
    missing = post(csm, f"{BASE}/{playbook.pk}/start", {"account_id": 999999})
    assert missing.json()["detail"] == [{"field": "account_id", "message": missing.json()["detail"][0]["message"]}]

    assert post(csm, f"{BASE}/runs/{run_id}/cancel", {}).status_code == 403
    response = post(api_as(Role.OPS_MANAGER), f"{BASE}/runs/{run_id}/cancel", {})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert PlaybookRun.objects.get().status == PlaybookRunStatus.CANCELLED


def test_runs_are_listed_and_read_with_their_step_log(api_as):
    run = RunFactory()
    RunFactory()
    client = api_as(Role.VIEWER)
    rows = client.get(f"{BASE}/runs", {"playbook_id": run.playbook_id}).json()
    assert [r["id"] for r in rows] == [run.pk]
    assert client.get(f"{BASE}/runs/{run.pk}").json()["steps"] == []


def test_email_template_with_an_unknown_merge_field_is_refused(api_as):
    client = api_as(Role.OPS_MANAGER)
    body = {"name": "案内", "subject": "ご案内", "body": "{{ contact.nmae }}様"}
    response = post(client, f"{BASE}/email-templates", body)
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "body"
    response = post(client, f"{BASE}/email-templates", {**body, "body": "{{ contact.name }}様", "tech_touch": False})
    assert response.status_code == 201
    assert EmailTemplate.objects.get().tech_touch is False


def test_task_template_round_robin_needs_a_team(api_as):
    client = api_as(Role.OPS_MANAGER)
    body = {"name": "初回", "title": "{{ account.name }}に電話", "owner_rule": "round_robin", "checklist": ["a"]}
    response = post(client, f"{BASE}/task-templates", body)
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "owner_team_id"
    response = post(client, f"{BASE}/task-templates", {**body, "owner_rule": "account_owner"})
    assert response.status_code == 201 and response.json()["checklist"] == ["a"]


def test_writes_need_manage_playbooks(api_as):
    client = api_as(Role.CSM)
    assert post(client, f"{BASE}/", {"name": "x"}).status_code == 403
    assert post(client, f"{BASE}/email-templates", {"name": "x", "subject": "s", "body": "b"}).status_code == 403
    assert client.get(f"{BASE}/").status_code == 200
