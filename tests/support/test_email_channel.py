"""Email into and out of the desk: raw RFC 822 mail in Japanese charsets through the signed webhook, threaded
onto the right inquiry, and agents' replies delivered through the outbox to a real SMTP server on loopback.

The IMAP loop (channels_email.poll_imap) is not run against a server here: no IMAP server can be started on
loopback from the test's packages, so its per-message path, `receive()` on the real RFC 822 bytes, is what
these tests drive."""

from __future__ import annotations

import datetime as dt
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr

import pytest
from django.utils import timezone

from banso.playbooks import outbox
from banso.support import channels_email, desk
from banso.support.models import Channel, Inquiry, Message, SupportSettings

from ..accounts.factories import ContactFactory
from ..mail import smtp  # noqa: F401 (fixture)
from .factories import AgentFactory

pytestmark = pytest.mark.django_db
SECRET = "inbound-secret-123"
URL = "/support/inbound/email"


def raw_mail(
    body: str,
    *,
    subject: str = "予約の変更について",
    msgid: str = "<m1@customer.example.jp>",
    sender: str = "hanako@example.jp",
    charset: str = "iso-2022-jp",
    subtype: str = "plain",
    in_reply_to: str = "",
) -> bytes:
    message = MIMEText(body, subtype, charset)
    message["Subject"] = Header(subject, charset)
    message["From"] = formataddr((str(Header("山田 花子", charset)), sender))
    message["To"] = "support@banso.example.jp"
    message["Message-ID"] = msgid
    message["Date"] = "Thu, 26 Nov 2026 10:00:00 +0900"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    return message.as_bytes()


@pytest.fixture
def config():
    row = SupportSettings.load()
    row.inbound_secret = SECRET
    row.reply_address = "support@banso.example.jp"
    row.save()
    return row


def post(client, raw: bytes, secret: str = SECRET):
    return client.post(
        URL,
        raw,
        content_type="message/rfc822",
        headers={"X-Banso-Signature": channels_email.signature(raw, secret)},
    )


def test_webhook_turns_an_iso_2022_jp_mail_into_an_inquiry_of_the_matching_contact(client, config):
    contact = ContactFactory(email="hanako@example.jp")
    raw = raw_mail("来週の予約を金曜日に変更できますか？\nよろしくお願いします。")
    assert b"\x1b$B" in raw  # really ISO-2022-JP on the wire
    response = post(client, raw)
    assert response.status_code == 201, response.content
    inquiry = Inquiry.objects.get(number=response.json()["inquiry"])
    assert inquiry.channel == Channel.EMAIL
    assert inquiry.subject == "予約の変更について"
    assert inquiry.requester_name == "山田 花子"
    assert inquiry.contact == contact and inquiry.account == contact.account
    message = inquiry.messages.get()
    assert message.body.startswith("来週の予約を金曜日に変更できますか？")
    assert message.email_message_id == "<m1@customer.example.jp>"


def test_webhook_refuses_a_wrong_or_missing_signature(client, config):
    raw = raw_mail("本文")
    assert post(client, raw, secret="wrong").status_code == 403
    assert client.post(URL, raw, content_type="message/rfc822").status_code == 403
    assert not Inquiry.objects.exists()


def test_webhook_accepts_the_message_as_a_multipart_field(client, config):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    raw = raw_mail("フォーム経由の本文")
    body = encode_multipart("BoUnDaRy", {"message": SimpleUploadedFile("mail.eml", raw)})
    response = client.post(
        URL,
        body,
        content_type=MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy"),
        headers={"X-Banso-Signature": "sha256=" + channels_email.signature(body, SECRET)},
    )
    assert response.status_code == 201, response.content
    assert Message.objects.get().body == "フォーム経由の本文"


def test_the_same_message_id_twice_is_one_message(client, config):
    raw = raw_mail("二重に届いたメール")
    assert post(client, raw).status_code == 201
    again = post(client, raw)
    assert again.status_code == 200 and again.json()["created"] is False
    assert Message.objects.count() == 1 and Inquiry.objects.count() == 1


def test_a_reply_threads_by_in_reply_to_and_loses_its_quoted_history(client, config):
    first = channels_email.receive(raw_mail("最初の問い合わせ"))
    reply = raw_mail(
        "ありがとうございます。承知しました。\n\n2026年11月26日(木) 10:00 サポート <support@banso.example.jp>:"
        "\n> 最初の問い合わせ\n> 以前の本文",
        subject="Re: 予約の変更について",
        msgid="<m2@customer.example.jp>",
        in_reply_to="<m1@customer.example.jp>",
    )
    response = post(client, reply)
    assert response.status_code == 201
    assert response.json()["inquiry"] == first.message.inquiry.number
    latest = first.message.inquiry.messages.order_by("-id").first()
    assert latest.body == "ありがとうございます。承知しました。"


def test_quoted_lines_and_english_reply_headers_are_stripped():
    text = "了解です。\n\nOn Thu, Nov 26, 2026 at 10:00 AM Support <s@x.jp> wrote:\n> old"
    assert channels_email.strip_quoted(text) == "了解です。"
    assert channels_email.strip_quoted("はい\n> 引用\n＞ 全角引用\n以上") == "はい\n以上"


def test_a_subject_number_threads_a_mail_without_headers(client, config):
    inquiry = channels_email.receive(raw_mail("最初")).message.inquiry
    raw = raw_mail("追記です", subject=f"Re: 予約 [#{inquiry.number}]", msgid="<m3@customer.example.jp>")
    assert post(client, raw).json()["inquiry"] == inquiry.number
    assert inquiry.messages.count() == 2


def test_a_shift_jis_html_only_mail_is_read_as_text(client, config):
    raw = raw_mail(
        "<html><body><p>ログインできません。</p><p>パスワードを<br>再設定したいです。</p></body></html>",
        charset="shift_jis",
        subtype="html",
        msgid="<m4@customer.example.jp>",
    )
    response = post(client, raw)
    assert response.status_code == 201
    body = Message.objects.get().body
    assert "ログインできません。" in body and "再設定したいです。" in body and "<p>" not in body


def test_a_mail_without_sender_names_the_field(client, config):
    raw = b"Subject: x\r\nMessage-ID: <nofrom@x>\r\n\r\nbody\r\n"
    response = post(client, raw)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "from"


def test_an_agent_reply_reaches_the_customer_in_the_same_thread(config, smtp):  # noqa: F811
    inquiry = channels_email.receive(raw_mail("返金はいつになりますか？")).message.inquiry
    agent = AgentFactory()
    message = desk.reply(inquiry, agent, "山田様\n返金は3営業日以内に完了いたします。")
    message.refresh_from_db()
    assert message.outbox_message is not None
    assert message.email_message_id == message.outbox_message.message_id

    for _ in range(5):
        if not outbox.deliver_due(now=timezone.now() + dt.timedelta(minutes=1)).claimed:
            break
    [received] = smtp.to("hanako@example.jp")
    assert received["Subject"] == f"Re: 予約の変更について [#{inquiry.number}]"
    assert received["In-Reply-To"] == "<m1@customer.example.jp>"
    assert "<m1@customer.example.jp>" in received["References"]
    assert received["Reply-To"] == "support@banso.example.jp"
    assert received["Message-ID"] == message.email_message_id
    assert "返金は3営業日以内に完了いたします。" in received.get_body(preferencelist=("plain",)).get_content()

    # The customer's answer to that reply threads back through its Message-ID.
    answer = raw_mail(
        "ありがとうございました。",
        subject=str(received["Subject"]),
        msgid="<m5@customer.example.jp>",
        in_reply_to=message.email_message_id,
    )
    assert channels_email.receive(answer).message.inquiry == inquiry


def test_internal_notes_and_chat_replies_send_no_mail(config):
    inquiry = channels_email.receive(raw_mail("本文")).message.inquiry
    desk.reply(inquiry, AgentFactory(), "社内メモ", internal=True)
    assert not Message.objects.filter(outbox_message__isnull=False).exists()
