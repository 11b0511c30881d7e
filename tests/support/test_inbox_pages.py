"""The inbox, the conversation page, bulk actions and macros through the browser-facing views."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.core.choices import Role
from banso.support import desk
from banso.support.models import Inquiry, Macro

from .factories import AgentFactory, InquiryFactory, InquiryTypeFactory, MacroFactory, SupportTeamFactory

pytestmark = pytest.mark.django_db


def _numbers(response) -> list[int]:
    return [entry["inquiry"].number for entry in response.context["entries"]]


def test_the_inbox_refuses_anonymous_visitors(client):
    response = client.get(reverse("support:inbox"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_an_agent_sees_their_own_open_inquiries_first(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    me = client.get(reverse("support:inbox")).wsgi_request.user
    mine = InquiryFactory(assignee=me, status="open")
    InquiryFactory(assignee=AgentFactory(), status="open")
    InquiryFactory(assignee=me, status="solved")
    response = client.get(reverse("support:inbox"))
    assert response.status_code == 200
    assert _numbers(response) == [mine.number]


def test_inbox_filters_by_type_channel_tag_and_received_dates(client_as):
    client = client_as(Role.OPS_MANAGER)
    refund = InquiryTypeFactory(name="返金")
    wanted = InquiryFactory(inquiry_type=refund, channel="chat", tags=["至急"])
    InquiryFactory(inquiry_type=refund, channel="email", tags=["至急"])
    InquiryFactory(channel="chat")
    old = InquiryFactory(
        inquiry_type=refund, channel="chat", tags=["至急"], created_at=timezone.now() - dt.timedelta(days=40)
    )
    today = timezone.localdate()
    url = reverse("support:inbox")
    params = {"view": "all", "type": refund.pk, "channel": "chat", "tag": "至急"}
    assert set(_numbers(client.get(url, params))) == {wanted.number, old.number}
    since = (today - dt.timedelta(days=3)).isoformat()
    assert _numbers(client.get(url, {**params, "from": since, "to": today.isoformat()})) == [wanted.number]


def test_a_bad_filter_is_named_on_the_page(client_as):
    response = client_as(Role.OPS_MANAGER).get(reverse("support:inbox"), {"view": "all", "from": "昨日"})
    assert response.status_code == 200
    assert response.context["error"].field == "from"


def test_text_search_finds_subject_requester_and_number(client_as):
    client = client_as(Role.OPS_MANAGER)
    a = InquiryFactory(subject="エアコンクリーニングの予約")
    b = InquiryFactory(requester_name="鈴木一郎")
    url = reverse("support:inbox")
    assert _numbers(client.get(url, {"view": "all", "q": "エアコン"})) == [a.number]
    assert _numbers(client.get(url, {"view": "all", "q": "鈴木"})) == [b.number]
    assert _numbers(client.get(url, {"view": "all", "q": f"#{b.number}"})) == [b.number]


def test_pages_follow_each_other_without_gaps_or_repeats(client_as, monkeypatch):
    monkeypatch.setattr(desk, "PAGE_SIZE", 3)
    client = client_as(Role.OPS_MANAGER)
    same_time = timezone.now()
    made = [InquiryFactory(updated_at=same_time, created_at=same_time) for _ in range(4)]
    made += [InquiryFactory() for _ in range(3)]
    seen, params = [], {"view": "all"}
    for _ in range(5):
        response = client.get(reverse("support:inbox"), params)
        seen += _numbers(response)
        if not response.context["next_cursor"]:
            break
        params = {"view": "all", "cursor": response.context["next_cursor"]}
    assert sorted(seen) == sorted(i.number for i in made) and len(seen) == len(set(seen))


def test_sorting_by_sla_due_puts_the_earliest_due_first_and_nothing_due_last(client_as, monkeypatch):
    monkeypatch.setattr(desk, "PAGE_SIZE", 2)
    client = client_as(Role.OPS_MANAGER)
    now = timezone.now()
    late = InquiryFactory(sla_next_due_at=now + dt.timedelta(hours=5))
    soon = InquiryFactory(sla_next_due_at=now + dt.timedelta(hours=1))
    none = InquiryFactory()
    first = client.get(reverse("support:inbox"), {"view": "all", "sort": "sla"})
    assert _numbers(first) == [soon.number, late.number]
    rest = client.get(reverse("support:inbox"), {"view": "all", "sort": "sla", "cursor": first.context["next_cursor"]})
    assert _numbers(rest) == [none.number]


def test_the_live_refresh_returns_only_the_list(client_as):
    client = client_as(Role.OPS_MANAGER)
    inquiry = InquiryFactory()
    response = client.get(reverse("support:inbox"), {"view": "all", "fragment": "list"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content and f"#{inquiry.number}".encode() in response.content


def test_bulk_assign_and_status_change_the_selected_inquiries(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    agent = AgentFactory()
    a, b, c = InquiryFactory(), InquiryFactory(), InquiryFactory()
    url = reverse("support:inbox_bulk")
    client.post(url, {"numbers": [a.number, b.number], "action": "assign", "assignee": agent.pk})
    assert set(Inquiry.objects.filter(assignee=agent).values_list("number", flat=True)) == {a.number, b.number}
    client.post(url, {"numbers": [a.number, c.number], "action": "status", "status": "solved"})
    assert set(Inquiry.objects.filter(status__key="solved").values_list("number", flat=True)) == {a.number, c.number}


def test_a_viewer_cannot_change_inquiries(client_as):
    response = client_as(Role.VIEWER).post(reverse("support:inbox_bulk"), {"numbers": [1], "action": "status"})
    assert response.status_code == 403


def test_the_conversation_shows_the_thread_with_notes_apart(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    inquiry = InquiryFactory(first_message="予約を取り消したい")
    agent = AgentFactory()
    desk.reply(inquiry, agent, "社内確認します", internal=True)
    response = client.get(reverse("support:inquiry", args=[inquiry.number]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "予約を取り消したい" in html and 'data-internal="1"' in html


def test_replying_with_a_status_sends_and_sets_it(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    inquiry = InquiryFactory()
    client.post(
        reverse("support:inquiry_reply", args=[inquiry.number]),
        {"body": "ご連絡ありがとうございます", "status": "solved"},
    )
    inquiry.refresh_from_db()
    assert inquiry.status.key == "solved"
    assert inquiry.messages.filter(body="ご連絡ありがとうございます", internal=False).exists()


def test_the_side_panel_changes_priority_team_tags_and_merges(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    team = SupportTeamFactory(support__round_robin=False)
    inquiry, other = InquiryFactory(), InquiryFactory()
    url = reverse("support:inquiry_update", args=[inquiry.number])
    client.post(url, {"priority": "high", "team": team.pk, "add_tags": "返金"})
    inquiry.refresh_from_db()
    assert (inquiry.priority, inquiry.team, list(inquiry.tags.values_list("name", flat=True))) == (
        "high",
        team,
        ["返金"],
    )
    response = client.post(reverse("support:inquiry_merge", args=[inquiry.number]), {"into": f"#{other.number}"})
    assert response["Location"] == reverse("support:inquiry", args=[other.number])
    inquiry.refresh_from_db()
    assert inquiry.merged_into == other


def test_a_macro_is_inserted_into_the_reply_box_in_one_request_and_counted_when_sent(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    inquiry = InquiryFactory(requester_name="高橋")
    macro = MacroFactory(body="{{ requester_name }} 様 #{{ number }}")
    macro.add_tags.create(name="定型")
    box = client.get(reverse("support:inquiry_macro", args=[inquiry.number, macro.pk]), {"body": "こんにちは"})
    assert f"こんにちは\n\n高橋 様 #{inquiry.number}" in box.content.decode()
    client.post(
        reverse("support:inquiry_reply", args=[inquiry.number]),
        {"body": f"高橋 様 #{inquiry.number}", "macro": macro.pk},
    )
    assert Macro.objects.get(pk=macro.pk).uses == 1
    assert inquiry.tags.filter(name="定型").exists()


def test_a_macro_with_an_unknown_field_is_refused_naming_it(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(reverse("support:macro_new"), {"name": "お詫び", "body": "{{ requester_nmae }} 様"})
    assert response.status_code == 422
    assert "requester_nmae" in str(response.context["form"].errors["body"])
    assert not Macro.objects.exists()


def test_shared_macros_are_edited_by_managers_and_personal_ones_by_their_author(client_as):
    agent_client = client_as(Role.SUPPORT_AGENT)
    response = agent_client.post(reverse("support:macro_new"), {"name": "私の", "body": "{{ number }}"})
    assert response.status_code == 422  # an agent's new macro must be personal
    agent_client.post(reverse("support:macro_new"), {"name": "私の", "body": "{{ number }}", "personal": "on"})
    mine = Macro.objects.get(name="私の")
    assert mine.personal
    manager = client_as(Role.OPS_MANAGER)
    assert manager.get(reverse("support:macro_edit", args=[mine.pk])).status_code == 404
    assert manager.post(reverse("support:macro_new"), {"name": "共有", "body": "x"}).status_code == 302
    assert "共有" in agent_client.get(reverse("support:macros")).content.decode()


def test_logging_a_phone_inquiry_opens_it_for_the_agent(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    response = client.post(
        reverse("support:inquiry_new"),
        {"subject": "電話での問い合わせ", "body": "予約番号が分からない", "priority": "normal"},
    )
    inquiry = Inquiry.objects.get(subject="電話での問い合わせ")
    assert response["Location"] == reverse("support:inquiry", args=[inquiry.number])
    assert inquiry.channel == "phone"


def test_team_requests_page_lists_open_requests(client_as):
    inquiry = InquiryFactory()
    desk.request_team(inquiry, to_name="経理", question="返金処理の状況は？")
    response = client_as(Role.SUPPORT_AGENT).get(reverse("support:team_requests"))
    assert "返金処理の状況は？" in response.content.decode()
