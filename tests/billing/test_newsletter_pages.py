"""Newsletter pages and API: composing with merge fields checked at save, preview as a member, test send to
oneself, scheduling in Japan time, cancelling, results, and who may do what."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from banso.billing import newsletters
from banso.billing.models import Newsletter, NewsletterStatus
from banso.billing.newsletter_demo import demo_data
from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.playbooks import outbox

from ..mail import smtp  # noqa: F401 (fixture)
from .factories_newsletter import TOKYO, NewsletterFactory, member, segment_of

pytestmark = pytest.mark.django_db
FUTURE = (timezone.now() + dt.timedelta(days=3)).astimezone(TOKYO).replace(hour=9, minute=0, second=0, microsecond=0)
BODY = "{{ member.name }} 様\n春の特集: https://tabi.example.jp/spring/\n{{ company.name }}"


def test_only_billing_roles_see_and_manage_newsletters(client_as, api_as, client):
    newsletter = NewsletterFactory()
    for role in (Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER, Role.MERCHANT_USER):
        assert client_as(role).get("/billing/newsletters/").status_code == 403
        assert client_as(role).post(f"/billing/newsletters/{newsletter.pk}/schedule/", {"now": "1"}).status_code == 403
        assert api_as(role).get("/api/billing/newsletters").status_code == 403
    assert client.get("/billing/newsletters/").status_code == 302
    assert client.get("/api/billing/newsletters").status_code == 401
    assert client_as(Role.OPS_MANAGER).get("/billing/newsletters/").status_code == 200
    assert api_as(Role.ADMIN).get(f"/api/billing/newsletters/{newsletter.pk}").status_code == 200
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.DRAFT


def test_composing_a_newsletter_for_a_segment_saves_a_draft_with_an_audit_entry(client_as):
    segment = segment_of(member("佐藤 花子", "sato@kyaku.example.jp"), name="京都の常連")
    page = client_as(Role.OPS_MANAGER)
    assert "京都の常連" in page.get("/billing/newsletters/new/").content.decode()
    answer = page.post(
        "/billing/newsletters/new/",
        {"title": "冬号", "subject": "{{ member.name }} 様", "body": BODY, "segment": segment.pk, "track": "on"},
    )
    newsletter = Newsletter.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/billing/newsletters/{newsletter.pk}/"
    assert (newsletter.status, newsletter.segment, newsletter.track) == (NewsletterStatus.DRAFT, segment, True)
    assert AuditEntry.objects.filter(object_id=str(newsletter.pk)).exists()
    detail = page.get(answer["Location"]).content.decode()
    assert "冬号" in detail and "newsletter_tracking" in detail and "https://tabi.example.jp/spring/" in detail


def test_an_unknown_merge_field_is_refused_at_save_naming_the_field(client_as, api_as):
    answer = client_as(Role.OPS_MANAGER).post(
        "/billing/newsletters/new/", {"title": "t", "subject": "件名", "body": "{{ member.nmae }} 様"}
    )
    assert answer.status_code == 422
    assert "{{ member.nmae }}" in answer.content.decode()
    api = api_as(Role.OPS_MANAGER).post(
        "/api/billing/newsletters",
        {"title": "t", "subject": "{{ account.name }}", "body": "本文"},
        content_type="application/json",
    )
    assert api.status_code == 422
    assert [e["field"] for e in api.json()["detail"]] == ["subject"]
    assert not Newsletter.objects.exists()


def test_a_segment_of_accounts_is_refused_as_audience(api_as):
    from tests.analytics.factories import SegmentFactory

    accounts = SegmentFactory(subject_type="account")
    answer = api_as(Role.ADMIN).post(
        "/api/billing/newsletters",
        {"title": "t", "subject": "件名", "body": "本文", "segment_id": accounts.pk},
        content_type="application/json",
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "segment_id"


def test_only_a_draft_can_be_edited(client_as, api_as):
    newsletter = NewsletterFactory(status=NewsletterStatus.SCHEDULED, scheduled_at=FUTURE)
    page = client_as(Role.OPS_MANAGER)
    assert page.get(f"/billing/newsletters/{newsletter.pk}/edit/").status_code == 302
    answer = api_as(Role.OPS_MANAGER).put(
        f"/api/billing/newsletters/{newsletter.pk}",
        {"title": "t", "subject": "件名", "body": "本文"},
        content_type="application/json",
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "status"


def test_the_preview_shows_the_mail_as_the_chosen_member_reads_it(client_as, api_as):
    sato = member("佐藤 花子", "sato@kyaku.example.jp", since=dt.date(2023, 5, 3))
    newsletter = NewsletterFactory(body="{{ member.name }} 様（{{ member.member_since }}入会）")
    page = client_as(Role.OPS_MANAGER).get(f"/billing/newsletters/{newsletter.pk}/preview/?member={sato.email}")
    assert "佐藤 花子 様（2023年5月3日入会）" in page.content.decode()
    sample = client_as(Role.OPS_MANAGER).get(f"/billing/newsletters/{newsletter.pk}/preview/").content.decode()
    assert "山田 花子 様" in sample
    api = api_as(Role.ADMIN).get(f"/api/billing/newsletters/{newsletter.pk}/preview?member={sato.pk}").json()
    assert api["text"] == "佐藤 花子 様（2023年5月3日入会）" and api["member_id"] == sato.pk


def test_a_test_send_reaches_the_signed_in_users_own_address(smtp, client_as):  # noqa: F811
    newsletter = NewsletterFactory(subject="{{ member.name }} 様へ", body=BODY)
    page = client_as(Role.OPS_MANAGER, email="ops@unyou.example.jp", display_name="運用 太郎")
    assert page.post(f"/billing/newsletters/{newsletter.pk}/test/").status_code == 302
    outbox.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    (mail,) = smtp.messages
    assert mail["To"] == "ops@unyou.example.jp"
    assert mail["Subject"].startswith("[") and mail["Subject"].endswith("] 運用 太郎 様へ")  # [テスト] in Japanese
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "https://tabi.example.jp/spring/" in text and "/n/c/" not in text
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.DRAFT and not newsletter.deliveries.exists()


def test_the_send_time_is_entered_in_japan_time(client_as):
    newsletter = NewsletterFactory()
    page = client_as(Role.OPS_MANAGER)
    send_at = FUTURE.strftime("%Y-%m-%dT%H:%M")
    assert page.post(f"/billing/newsletters/{newsletter.pk}/schedule/", {"send_at": send_at}).status_code == 302
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.SCHEDULED
    assert newsletter.scheduled_at == FUTURE and newsletter.scheduled_at.astimezone(dt.UTC).hour == 0
    assert newsletters.send_due(now=FUTURE - dt.timedelta(seconds=1)) == []
    assert [n.pk for n in newsletters.send_due(now=FUTURE)] == [newsletter.pk]


def test_a_past_or_unreadable_send_time_is_refused(client_as, api_as):
    newsletter = NewsletterFactory()
    answer = api_as(Role.OPS_MANAGER).post(
        f"/api/billing/newsletters/{newsletter.pk}/schedule",
        {"send_at": "2020-01-01T09:00:00"},
        content_type="application/json",
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "send_at"
    page = client_as(Role.OPS_MANAGER)
    follow = page.post(f"/billing/newsletters/{newsletter.pk}/schedule/", {"send_at": "来週"}, follow=True)
    assert "YYYY-MM-DD HH:MM" in follow.content.decode()
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.DRAFT


def test_the_api_schedules_without_an_offset_in_japan_time_and_cancels(api_as):
    newsletter = NewsletterFactory()
    api = api_as(Role.OPS_MANAGER)
    naive = FUTURE.replace(tzinfo=None).isoformat()
    answer = api.post(
        f"/api/billing/newsletters/{newsletter.pk}/schedule", {"send_at": naive}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "scheduled"
    newsletter.refresh_from_db()
    assert newsletter.scheduled_at == FUTURE
    assert api.post(f"/api/billing/newsletters/{newsletter.pk}/cancel").json()["status"] == "cancelled"
    assert api.post(f"/api/billing/newsletters/{newsletter.pk}/cancel").status_code == 422


def test_send_now_queues_the_sending_task(client_as, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    newsletter = NewsletterFactory()
    with django_capture_on_commit_callbacks(execute=True):
        client_as(Role.ADMIN).post(f"/billing/newsletters/{newsletter.pk}/schedule/", {"now": "1"})
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.SCHEDULED and newsletter.scheduled_at <= timezone.now()
    assert DBTaskResult.objects.filter(task_path__endswith="send_due_newsletters").count() == 1


def test_the_list_and_results_show_delivered_opened_and_clicked(smtp, client_as, api_as, client):  # noqa: F811
    sato = member("佐藤 花子", "sato@kyaku.example.jp", tracking=True)
    suzuki = member("鈴木 一郎", "suzuki@kyaku.example.jp", tracking=True)
    newsletter = NewsletterFactory(
        status=NewsletterStatus.SCHEDULED, scheduled_at=timezone.now(), segment=segment_of(sato, suzuki), title="冬号"
    )
    newsletters.send_due()
    outbox.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    token = newsletter.deliveries.get(end_user=sato).token
    client.get(f"/n/c/{token}/0")

    rows = api_as(Role.OPS_MANAGER).get("/api/billing/newsletters").json()
    assert rows[0]["recipients"] == 2
    assert (rows[0]["delivered_rate"], rows[0]["opened_rate"], rows[0]["clicked_rate"]) == ("100.0", "50.0", "50.0")
    detail = api_as(Role.OPS_MANAGER).get(f"/api/billing/newsletters/{newsletter.pk}").json()["results"]
    assert (detail["delivered"], detail["opened"], detail["clicked"], detail["failed"]) == (2, 1, 1, 0)
    listing = client_as(Role.OPS_MANAGER).get("/billing/newsletters/").content.decode()
    assert "冬号" in listing and "50.0%" in listing
    page = client_as(Role.OPS_MANAGER).get(f"/billing/newsletters/{newsletter.pk}/").content.decode()
    assert 'id="results"' in page


def test_the_api_describes_the_tracking_consent(client_as):
    schema = json.dumps(client_as(Role.ADMIN).get("/api/openapi.json").json())
    assert "newsletter_tracking" in schema


def test_the_demo_has_two_sent_newsletters_with_opens_and_clicks_and_one_scheduled():
    people = [member(f"会員{i}", f"m{i}@kyaku.example.jp") for i in range(40)]
    first = demo_data(people)
    assert first["created"] == 3 and len(first["sent"]) == 2
    sent = Newsletter.objects.filter(status=NewsletterStatus.SENT)
    assert sent.count() == 2 and all(n.recipients == 40 for n in sent)
    results = [newsletters.results(n) for n in sent]
    assert all(r["delivered"] == 40 and r["tracked"] > 0 for r in results)
    assert sum(r["opened"] for r in results) > 0 and sum(r["clicked"] for r in results) > 0
    assert Newsletter.objects.filter(status=NewsletterStatus.SCHEDULED, scheduled_at__gt=timezone.now()).count() == 1
    assert demo_data(people) == {"created": 0}
