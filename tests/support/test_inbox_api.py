"""The inbox's JSON API: list with filters and cursor, create, read, change, reply, merge, team requests, macros."""

import pytest

from banso.core.choices import Role
from banso.support.models import Macro

from ..accounts.factories import AccountFactory, ContactFactory
from .factories import AgentFactory, InquiryFactory, SupportTeamFactory

pytestmark = pytest.mark.django_db
BASE = "/api/support"


def test_listing_pages_with_a_cursor_and_filters(api_as):
    api = api_as(Role.SUPPORT_AGENT)
    chats = [InquiryFactory(channel="chat") for _ in range(3)]
    InquiryFactory(channel="email")
    first = api.get(f"{BASE}/inquiries", {"view": "all", "channel": "chat", "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get(
        f"{BASE}/inquiries", {"view": "all", "channel": "chat", "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    numbers = [i["number"] for i in first["items"] + rest["items"]]
    assert sorted(numbers) == sorted(i.number for i in chats) and rest["next_cursor"] == ""


def test_a_bad_filter_answers_422_naming_it(api_as):
    response = api_as(Role.SUPPORT_AGENT).get(f"{BASE}/inquiries", {"priority": "asap"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "priority"


def test_creating_reading_and_changing_an_inquiry(api_as):
    api = api_as(Role.SUPPORT_AGENT)
    contact = ContactFactory()
    team = SupportTeamFactory(support__round_robin=False)
    created = api.post(
        f"{BASE}/inquiries",
        {"channel": "phone", "subject": "電話", "body": "予約が消えた", "contact_id": contact.pk},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["assignee_id"] == api.user.pk and created.json()["account_id"] == contact.account_id
    agent = AgentFactory()
    changed = api.patch(
        f"{BASE}/inquiries/{number}",
        {
            "status": "on_hold",
            "priority": "high",
            "assignee_id": agent.pk,
            "team_id": team.pk,
            "tags": ["返金", "至急"],
        },
        content_type="application/json",
    ).json()
    assert (changed["status"], changed["priority"], changed["assignee_id"], changed["team_id"]) == (
        "on_hold",
        "high",
        agent.pk,
        team.pk,
    )
    assert changed["tags"] == ["至急", "返金"]
    again = api.patch(f"{BASE}/inquiries/{number}", {"tags": ["返金"]}, content_type="application/json").json()
    assert again["tags"] == ["返金"]


def test_a_link_to_another_accounts_contact_is_refused_and_nothing_changes(api_as):
    api = api_as(Role.SUPPORT_AGENT)
    inquiry = InquiryFactory()
    response = api.patch(
        f"{BASE}/inquiries/{inquiry.number}",
        {"priority": "urgent", "account_id": AccountFactory().pk, "contact_id": ContactFactory().pk},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "contact_id"
    inquiry.refresh_from_db()
    assert inquiry.priority == "normal" and inquiry.account_id is None


def test_replying_notes_and_merging(api_as):
    api = api_as(Role.SUPPORT_AGENT)
    a, b = InquiryFactory(), InquiryFactory()
    note = api.post(
        f"{BASE}/inquiries/{a.number}/messages", {"body": "確認中", "internal": True}, content_type="application/json"
    )
    assert note.status_code == 201 and note.json()["internal"] is True
    empty = api.post(f"{BASE}/inquiries/{a.number}/messages", {"body": " "}, content_type="application/json")
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "body"
    merged = api.post(f"{BASE}/inquiries/{a.number}/merge", {"into": b.number}, content_type="application/json")
    assert merged.status_code == 200 and merged.json()["number"] == b.number
    assert "確認中" in [m["body"] for m in merged.json()["messages"]]
    itself = api.post(f"{BASE}/inquiries/{b.number}/merge", {"into": b.number}, content_type="application/json")
    assert itself.status_code == 422 and itself.json()["detail"][0]["field"] == "into"


def test_team_requests_through_the_api(api_as):
    api = api_as(Role.SUPPORT_AGENT)
    inquiry = InquiryFactory()
    made = api.post(
        f"{BASE}/inquiries/{inquiry.number}/requests",
        {"question": "出店者へ確認", "to_name": "出店者コンサルタント"},
        content_type="application/json",
    )
    assert made.status_code == 201
    assert [r["id"] for r in api.get(f"{BASE}/requests").json()] == [made.json()["id"]]
    answered = api.post(
        f"{BASE}/requests/{made.json()['id']}/answer", {"answer": "対応可"}, content_type="application/json"
    )
    assert answered.json()["status"] == "answered"
    assert api.get(f"{BASE}/requests").json() == []


def test_macros_are_created_checked_and_rendered(api_as):
    manager = api_as(Role.OPS_MANAGER)
    bad = manager.post(f"{BASE}/macros", {"name": "x", "body": "{{ agent_nmae }}"}, content_type="application/json")
    assert bad.status_code == 422 and "agent_nmae" in bad.json()["detail"][0]["message"]
    made = manager.post(
        f"{BASE}/macros",
        {"name": "受付", "body": "{{ requester_name }} 様 (#{{ number }})", "set_status": "waiting_customer"},
        content_type="application/json",
    )
    assert made.status_code == 201
    inquiry = InquiryFactory(requester_name="松本")
    agent = api_as(Role.SUPPORT_AGENT)
    rendered = agent.post(
        f"{BASE}/macros/{made.json()['id']}/render", {"number": inquiry.number}, content_type="application/json"
    )
    assert rendered.json()["text"] == f"松本 様 (#{inquiry.number})"
    agent.post(
        f"{BASE}/inquiries/{inquiry.number}/messages",
        {"body": rendered.json()["text"], "macro_id": made.json()["id"]},
        content_type="application/json",
    )
    inquiry.refresh_from_db()
    assert inquiry.status.key == "waiting_customer"
    assert Macro.objects.get(pk=made.json()["id"]).uses == 1


def test_an_agent_cannot_create_a_shared_macro(api_as):
    response = api_as(Role.SUPPORT_AGENT).post(
        f"{BASE}/macros", {"name": "共有", "body": "x"}, content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "personal"


def test_a_viewer_reads_but_cannot_write(api_as):
    viewer = api_as(Role.VIEWER)
    inquiry = InquiryFactory()
    assert viewer.get(f"{BASE}/inquiries/{inquiry.number}").status_code == 200
    response = viewer.post(
        f"{BASE}/inquiries/{inquiry.number}/messages", {"body": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
