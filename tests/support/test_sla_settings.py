"""Desk settings: SLA policies, custom statuses (a status in use is deactivated, not deleted), team routing with
business hours as text (errors name the bad range), the warning window; audited; page and API."""

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.support import desk, sla_settings
from banso.support.desk import DeskError
from banso.support.models import Priority, SlaPolicy, Status, TeamSettings

from .factories import InquiryFactory, SupportTeamFactory

pytestmark = pytest.mark.django_db
URL = "support:desk_settings"


def test_business_hours_text_parses_split_shifts():
    assert sla_settings.parse_hours_text("09:00-12:00, 13:00-18:00") == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert sla_settings.parse_hours_text("9:30〜17:30") == [["09:30", "17:30"]]
    assert sla_settings.parse_hours_text("  ") == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("09:00-12:00, 13:00", "13:00"),
        ("09:00-12:00, 18:00-13:00", "18:00-13:00"),
        ("09:00-12:00, 11:00-18:00", "11:00-18:00"),
        ("09:00-25:00", "09:00-25:00"),
    ],
)
def test_bad_business_hours_name_the_range(text, bad):
    with pytest.raises(DeskError) as caught:
        sla_settings.parse_hours_text(text)
    assert caught.value.field == "business_hours"
    assert bad in caught.value.message


def test_policy_for_priority_and_channel_is_unique():
    sla_settings.save_policy(None, {"name": "チャット緊急", "priority": "urgent", "channel": "chat"}, actor=None)
    with pytest.raises(DeskError) as caught:
        sla_settings.save_policy(None, {"name": "重複", "priority": "urgent", "channel": "chat"}, actor=None)
    assert caught.value.field == "channel"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "priority": "urgent"}, "name"),
        ({"name": "x", "priority": "asap"}, "priority"),
        ({"name": "x", "priority": "high", "channel": "fax"}, "channel"),
        (
            {"name": "x", "priority": "high", "channel": "chat", "first_response_minutes": "三十"},
            "first_response_minutes",
        ),
        ({"name": "x", "priority": "high", "channel": "chat", "resolution_minutes": "0"}, "resolution_minutes"),
    ],
)
def test_policy_errors_name_the_field(data, field):
    with pytest.raises(DeskError) as caught:
        sla_settings.save_policy(None, data, actor=None)
    assert caught.value.field == field


def test_status_in_use_is_deactivated_and_unused_one_deleted(user_with_role):
    admin = user_with_role(Role.ADMIN)
    used = sla_settings.save_status(
        None, {"name": "出店者確認中", "category": "pending", "pauses_sla": True}, actor=admin
    )
    unused = sla_settings.save_status(
        None, {"name": "経理確認中", "key": "accounting", "category": "pending"}, actor=admin
    )
    InquiryFactory(status=used)
    assert sla_settings.remove_status(used, actor=admin) is False
    used.refresh_from_db()
    assert used.active is False
    assert sla_settings.remove_status(unused, actor=admin) is True
    assert not Status.objects.filter(key="accounting").exists()
    actions = list(AuditEntry.objects.filter(object_type="support.status").values_list("action", flat=True))
    assert actions.count("create") == 2 and "delete" in actions and "update" in actions


def test_the_desk_keeps_its_new_status():
    with pytest.raises(DeskError) as caught:
        sla_settings.remove_status(desk.status("new"), actor=None)
    assert caught.value.field == "active"


def test_settings_page_is_for_managers(client_as):
    assert client_as(Role.SUPPORT_AGENT).get(reverse(URL)).status_code == 403
    response = client_as(Role.OPS_MANAGER).get(reverse(URL))
    assert response.status_code == 200
    assert "通常" in response.content.decode()  # the default normal-priority policy


def test_page_saves_team_routing_and_reports_the_bad_range(client_as):
    team = SupportTeamFactory(name="二次対応課")
    client = client_as(Role.OPS_MANAGER)
    response = client.post(reverse(URL), {"form": "team", "id": team.pk, "business_hours": "10:00-12:00, 13:00-17:00"})
    assert response.status_code == 302
    settings = TeamSettings.objects.get(team=team)
    assert settings.business_hours == [["10:00", "12:00"], ["13:00", "17:00"]] and settings.round_robin is False
    response = client.post(reverse(URL), {"form": "team", "id": team.pk, "business_hours": "10:00-12:00, 12:30"})
    assert response.status_code == 422
    assert "12:30" in response.content.decode() and "business_hours" in response.content.decode()
    assert AuditEntry.objects.filter(object_type="support.teamsettings").count() == 1


def test_page_adds_a_pausing_status_and_edits_a_policy(client_as):
    client = client_as(Role.ADMIN)
    client.post(
        reverse(URL),
        {"form": "status", "name": "出店者確認中", "key": "provider_check", "category": "pending", "pauses_sla": "1"},
    )
    status = Status.objects.get(key="provider_check")
    assert status.pauses_sla and status.active
    client.get(reverse(URL))  # creates the default policies on first use if missing
    policy = SlaPolicy.objects.filter(priority=Priority.URGENT, channel="").first() or sla_settings.save_policy(
        None, {"name": "緊急", "priority": "urgent"}, actor=None
    )
    response = client.post(
        reverse(URL),
        {
            "form": "policy",
            "id": policy.pk,
            "name": "緊急",
            "priority": "urgent",
            "channel": "",
            "first_response_minutes": "15",
            "next_response_minutes": "",
            "resolution_minutes": "240",
            "business_hours": "",
            "active": "1",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.next_response_minutes, policy.resolution_minutes) == (15, None, 240)


def test_page_warning_window_error_names_the_field(client_as):
    response = client_as(Role.ADMIN).post(reverse(URL), {"form": "warn", "warn_before_minutes": "-5"})
    assert response.status_code == 422
    assert "warn_before_minutes" in response.content.decode()


def test_api_policies_and_statuses(api_as):
    manager = api_as(Role.OPS_MANAGER)
    created = manager.post(
        "/api/support/sla/policies",
        {
            "name": "メール低",
            "priority": "low",
            "channel": "email",
            "first_response_minutes": 600,
            "business_hours": "09:00-17:00",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["business_hours"] == "09:00-17:00"
    bad = manager.post(
        "/api/support/sla/policies",
        {"name": "x", "priority": "low", "channel": "email", "business_hours": "9-17"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "channel"  # the priority + channel pair exists already
    status = manager.post(
        "/api/support/sla/statuses",
        {"name": "出店者確認中", "category": "pending", "pauses_sla": True},
        content_type="application/json",
    )
    assert status.status_code == 201
    removed = manager.delete(f"/api/support/sla/statuses/{status.json()['id']}")
    assert removed.json()["deleted"] is True
    agent = api_as(Role.SUPPORT_AGENT)
    assert agent.get("/api/support/sla/statuses").status_code == 200
    assert (
        agent.post(
            "/api/support/sla/statuses", {"name": "x", "category": "open"}, content_type="application/json"
        ).status_code
        == 403
    )


def test_switching_a_status_to_pause_pauses_the_inquiries_in_it():
    on_hold = desk.status("on_hold")  # ships not pausing
    inquiry = desk.open_inquiry(channel="email", subject="確認", body="確認してください。", priority=Priority.URGENT)
    desk.set_status(inquiry, on_hold)
    inquiry.refresh_from_db()
    assert inquiry.sla_next_due_at is not None
    sla_settings.save_status(on_hold, {"pauses_sla": True}, actor=None)
    inquiry.refresh_from_db()
    assert inquiry.sla_paused_at is not None and inquiry.sla_next_due_at is None
    sla_settings.save_status(on_hold, {"pauses_sla": False}, actor=None)
    inquiry.refresh_from_db()
    assert inquiry.sla_paused_at is None and inquiry.sla_next_due_at is not None
