"""The outbox page, its API and command line, and the public unsubscribe page."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.playbooks import outbox
from banso.playbooks.models import MessageStatus, OutboxMessage, Unsubscribe

from ..mail import smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _failed(to: str = "tanaka@kyaku.example.jp") -> OutboxMessage:
    message = outbox.enqueue_email(to, "契約更新のご案内", "本文", source="billing")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, attempts=outbox.MAX_ATTEMPTS, last_error="SMTP 451: try later"
    )
    message.refresh_from_db()
    return message


def test_the_outbox_page_is_for_ops_managers_and_shows_counts_filters_and_pages(client_as):
    failed = _failed()
    for i in range(55):
        outbox.enqueue_webhook(f"https://hooks.example.jp/{i}", {"n": i}, source="playbooks")
    assert client_as(Role.VIEWER).get(reverse("playbooks:outbox")).status_code == 403
    assert client_as(Role.CSM).get(reverse("playbooks:outbox")).status_code == 403

    manager = client_as(Role.OPS_MANAGER)
    page = manager.get(reverse("playbooks:outbox")).content.decode()
    assert "送信キュー" in page and "送信失敗（再送終了）" in page and "送信待ち" in page
    assert "56 件" in page and "1 / 2" in page  # 50 a page

    only_failed = manager.get(reverse("playbooks:outbox"), {"status": "failed"}).content.decode()
    assert "1 件" in only_failed and "tanaka@kyaku.example.jp" in only_failed
    by_source = manager.get(reverse("playbooks:outbox"), {"source": "billing", "kind": "email"}).content.decode()
    assert reverse("playbooks:outbox_message", args=[failed.pk]) in by_source and "1 件" in by_source


def test_a_message_page_shows_its_delivery_and_retry_now_is_audited(client_as):
    message = _failed()
    manager = client_as(Role.OPS_MANAGER)
    page = manager.get(reverse("playbooks:outbox_message", args=[message.pk])).content.decode()
    assert message.message_id.strip("<>") in page and "SMTP 451: try later" in page and "今すぐ再送" in page

    response = manager.post(reverse("playbooks:outbox_retry", args=[message.pk]), follow=True)
    message.refresh_from_db()
    assert message.status == MessageStatus.RETRYING
    assert "まもなく再送します。" in response.content.decode()
    entry = AuditEntry.objects.get(object_type="playbooks.outboxmessage", object_id=str(message.pk))
    assert entry.changes["status"] == ["failed", "retrying"] and entry.via == "ui"

    again = manager.post(reverse("playbooks:outbox_retry", args=[message.pk]), follow=True).content.decode()
    assert "今すぐ再送できるのは" not in again  # retrying may be retried again
    OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENT)
    refused = manager.post(reverse("playbooks:outbox_retry", args=[message.pk]), follow=True).content.decode()
    assert "今すぐ再送できるのは" in refused
    assert client_as(Role.VIEWER).post(reverse("playbooks:outbox_retry", args=[message.pk])).status_code == 403


def test_a_web_push_batch_page_counts_its_recipients_outcomes_instead_of_printing_them_all(client_as):
    recipients = [
        {
            "ref": str(n),
            "subscriptions": [{"endpoint": f"https://push.example.net/{n}"}],
            "data": {"title": "還元率アップ"},
        }
        for n in range(1000)
    ]
    payload = outbox.web_push_batch_payload(recipients)
    payload["results"] = {
        "0": {"status": "sent", "at": "", "error": ""},
        "1": {"status": "failed", "error": "410: gone"},
    }
    message = OutboxMessage.objects.create(kind="web_push", source="campaigns", payload=payload)
    page = client_as(Role.OPS_MANAGER).get(reverse("playbooks:outbox_message", args=[message.pk])).content.decode()
    assert "Webプッシュ 1000 人分" in page and "受信者数" in page
    assert 'id="batch-sent">1<' in page and 'id="batch-failed">1<' in page
    assert 'id="batch-pending">998<' in page and "410: gone" in page and "還元率アップ" in page
    assert "https://push.example.net/999" not in page


def test_an_in_doubt_webhook_post_and_an_unconfirmed_mail_say_so_on_their_pages(client_as):
    post = outbox.enqueue_webhook("https://hooks.example.jp/x", {"text": "t"})
    mail = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    OutboxMessage.objects.filter(pk=post.pk).update(last_error=f"{outbox.IN_DOUBT}: the worker stopped")
    OutboxMessage.objects.filter(pk=mail.pk).update(
        status=MessageStatus.SENT, last_error=f"{outbox.UNCONFIRMED}: the worker stopped"
    )
    admin = client_as(Role.ADMIN)
    post_page = admin.get(reverse("playbooks:outbox_message", args=[post.pk])).content.decode()
    mail_page = admin.get(reverse("playbooks:outbox_message", args=[mail.pk])).content.decode()
    assert "同じ配信 ID で再送" in post_page and "受領確認を記録する前" not in post_page
    assert "受領確認を記録する前" in mail_page and "同じ配信 ID で再送" not in mail_page


def test_the_api_lists_reads_and_retries_messages_for_ops_managers_only(api_as):
    failed = _failed()
    sent = outbox.enqueue_webhook("https://hooks.example.jp/a", {"a": 1})
    OutboxMessage.objects.filter(pk=sent.pk).update(status=MessageStatus.SENT)
    assert api_as(Role.VIEWER).get("/api/playbooks/outbox").status_code == 403

    api = api_as(Role.OPS_MANAGER)
    body = api.get("/api/playbooks/outbox", {"status": "failed"}).json()
    assert body["count"] == 1 and body["counts"]["failed"] == 1 and body["counts"]["sent"] == 1
    assert [m["id"] for m in body["results"]] == [failed.pk]
    assert body["results"][0]["message_id"] == failed.message_id and body["results"][0]["in_doubt"] is False
    paged = api.get("/api/playbooks/outbox", {"limit": 1, "offset": 1}).json()
    assert paged["count"] == 2 and [m["id"] for m in paged["results"]] == [failed.pk]  # newest first

    assert api.get(f"/api/playbooks/outbox/{failed.pk}").json()["last_error"] == "SMTP 451: try later"
    missing = api.get("/api/playbooks/outbox/999999")
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "id"

    retried = api.post(f"/api/playbooks/outbox/{failed.pk}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "retrying"
    assert AuditEntry.objects.get(object_id=str(failed.pk)).via == "api"
    conflict = api.post(f"/api/playbooks/outbox/{sent.pk}/retry")
    assert conflict.status_code == 409 and conflict.json()["detail"][0]["field"] == "status"


def test_the_unsubscribe_page_needs_no_login_and_records_only_on_post(client, smtp):  # noqa: F811
    message = outbox.enqueue_email("suzuki@kyaku.example.jp", "ヒント", "本文", unsubscribable=True)
    path = outbox.unsubscribe_url(message).removeprefix("https://banso.example.jp")

    page = client.get(path)
    assert page.status_code == 200 and "配信を停止しますか" in page.content.decode()
    assert not Unsubscribe.objects.exists()  # a link scanner following the link unsubscribes nobody

    done = client.post(path)
    assert done.status_code == 200 and "配信を停止しました" in done.content.decode()
    assert Unsubscribe.objects.get().via == "link"
    assert "すでに配信停止済み" in client.get(path).content.decode()

    tampered = client.get(path.replace("/unsubscribe/", "/unsubscribe/x"))
    assert tampered.status_code == 404 and "このリンクは無効です" in tampered.content.decode()


def test_the_command_line_delivers_once_and_prints_counts(smtp, capsys):  # noqa: F811
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    call_command("playbooks", "outbox", "work", "--once")
    assert smtp.message_ids == [message.message_id]
    assert "1 sent" in capsys.readouterr().err
    call_command("playbooks", "outbox", "status")
    out = capsys.readouterr().out
    assert "sent" in out and out.split("sent")[1].split()[0] == "1"
