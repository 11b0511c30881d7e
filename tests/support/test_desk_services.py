"""The desk's services: assignment (manual and round-robin), priority, tags, links, merge, team requests, phone."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.support import desk
from banso.support.models import AuthorKind, Channel, Inquiry, Message, TeamRequestStatus

from ..accounts.factories import AccountFactory, ContactFactory
from ..core.factories import UserFactory
from .factories import AgentFactory, InquiryFactory, SupportTeamFactory

pytestmark = pytest.mark.django_db


def _open(team=None, **kwargs):
    return desk.open_inquiry(channel=Channel.EMAIL, subject="予約の変更", body="日時を変えたい", team=team, **kwargs)


def test_new_inquiries_of_a_round_robin_team_go_to_each_active_agent_in_turn():
    a, b, c = AgentFactory(), AgentFactory(), AgentFactory()
    gone = AgentFactory(is_active=False)
    viewer = UserFactory(role=Role.VIEWER)
    team = SupportTeamFactory(members=[a, b, c, gone, viewer])
    owners = [_open(team).assignee for _ in range(4)]
    assert owners == [a, b, c, a]


def test_a_team_without_round_robin_leaves_new_inquiries_unassigned():
    team = SupportTeamFactory(members=[AgentFactory()], support__round_robin=False)
    assert _open(team).assignee is None


def test_manual_assignment_is_audited_and_refuses_someone_who_cannot_work_inquiries():
    agent, manager = AgentFactory(), AgentFactory()
    inquiry = InquiryFactory()
    desk.assign(inquiry, assignee=agent, actor=manager)
    inquiry.refresh_from_db()
    assert inquiry.assignee == agent
    assert AuditEntry.objects.filter(object_type="support.inquiry", object_id=str(inquiry.pk)).exists()
    with pytest.raises(desk.DeskError) as refused:
        desk.assign(inquiry, assignee=UserFactory(role=Role.ASSISTANT))
    assert refused.value.field == "assignee"


def test_priority_change_is_validated_and_saved():
    inquiry = InquiryFactory()
    desk.set_priority(inquiry, "urgent")
    assert Inquiry.objects.get(pk=inquiry.pk).priority == "urgent"
    with pytest.raises(desk.DeskError) as refused:
        desk.set_priority(inquiry, "asap")
    assert refused.value.field == "priority"


def test_tags_are_added_once_and_removed_by_name():
    inquiry = InquiryFactory()
    assert desk.change_tags(inquiry, add="返金, 至急、返金") == ["至急", "返金"]
    assert desk.change_tags(inquiry, remove=["至急"]) == ["返金"]


def test_linking_a_contact_brings_its_account_and_a_foreign_contact_is_refused():
    contact = ContactFactory()
    inquiry = InquiryFactory()
    desk.link(inquiry, contact=contact)
    inquiry.refresh_from_db()
    assert inquiry.account == contact.account
    with pytest.raises(desk.DeskError) as refused:
        desk.link(inquiry, account=AccountFactory(), contact=contact)
    assert refused.value.field == "contact"
    inquiry.refresh_from_db()
    assert inquiry.account == contact.account  # nothing half-written


def test_merging_moves_messages_keeps_the_earliest_time_joins_tags_and_closes_the_duplicate():
    earlier = timezone.now() - dt.timedelta(days=2)
    duplicate = InquiryFactory(created_at=earlier, tags=["返金"], first_message="一通目")
    survivor = InquiryFactory(tags=["至急"], first_message="二通目")
    sent_at = Message.objects.get(inquiry=duplicate).created_at
    agent = AgentFactory()
    desk.merge(duplicate, survivor, actor=agent)
    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    assert duplicate.merged_into == survivor and duplicate.status.key == "closed"
    assert survivor.created_at == earlier
    assert set(survivor.tags.values_list("name", flat=True)) == {"返金", "至急"}
    moved = survivor.messages.get(body="一通目")
    assert moved.created_at == sent_at
    assert survivor.messages.filter(author_kind=AuthorKind.SYSTEM).count() == 1
    assert duplicate.messages.filter(author_kind=AuthorKind.SYSTEM).count() == 1


def test_merge_refuses_itself_a_merged_target_and_a_chain():
    a, b, c = InquiryFactory(), InquiryFactory(), InquiryFactory()
    with pytest.raises(desk.DeskError):
        desk.merge(a, a)
    desk.merge(a, b)
    with pytest.raises(desk.DeskError) as into_merged:
        desk.merge(c, a)
    assert into_merged.value.field == "into"
    with pytest.raises(desk.DeskError):
        desk.merge(b, c)  # b has others merged into it


def test_a_team_request_is_answered_into_an_internal_note_and_leaves_the_open_list():
    agent = AgentFactory()
    other = SupportTeamFactory(name="出店者コンサル")
    inquiry = InquiryFactory()
    request = desk.request_team(
        inquiry, to_team=other, question="返金可否を確認", due_at=timezone.now() + dt.timedelta(hours=4), actor=agent
    )
    assert list(desk.open_requests()) == [request]
    assert list(desk.filter_inquiries(agent, {"view": "waiting"})) == [inquiry]
    desk.answer_request(request, "返金可です", actor=agent)
    request.refresh_from_db()
    assert request.status == TeamRequestStatus.ANSWERED
    assert inquiry.messages.filter(internal=True, body__contains="返金可です").exists()
    assert not desk.open_requests().exists()
    with pytest.raises(desk.DeskError):
        desk.cancel_request(request)


def test_a_team_request_needs_a_question_and_a_team():
    with pytest.raises(desk.DeskError) as refused:
        desk.request_team(InquiryFactory(), question="?")
    assert refused.value.field == "to_team"


def test_a_phone_inquiry_is_owned_by_the_agent_who_took_the_call():
    agent = AgentFactory()
    inquiry = desk.log_phone_inquiry(agent, subject="電話", body="予約が見つからない", requester_name="田中")
    assert inquiry.channel == Channel.PHONE and inquiry.assignee == agent
    assert inquiry.messages.get().author_kind == AuthorKind.AGENT


@pytest.mark.django_db(transaction=True)
def test_round_robin_is_safe_when_inquiries_arrive_together():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers")
    agents = [AgentFactory() for _ in range(4)]
    team = SupportTeamFactory(members=agents)
    errors = []

    def worker():
        try:
            for _ in range(2):
                try:
                    _open(team)
                except Exception as error:
                    errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and Inquiry.objects.count() == 8  # two taking the same number: the second retries
    counts = [Inquiry.objects.filter(assignee=a).count() for a in agents]
    assert max(counts) - min(counts) <= 1
