"""The public web form (validation naming the field, a receipt with the number, an acknowledgement mail
through the outbox to a real SMTP server) and the staff page of chat sessions with the widget and mail
settings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.playbooks import outbox
from banso.support import chat
from banso.support.models import Channel, ChatOutcome, Inquiry, SupportSettings

from ..mail import smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
FORM = "/support/widget/form/"


def test_the_web_form_names_the_fields_that_are_wrong():
    response = Client().post(FORM, {"name": "", "email": "nope", "subject": "", "message": "本文"})
    assert response.status_code == 422
    html = response.content.decode()
    for field in ("name", "email", "subject"):
        assert f'data-error-for="{field}"' in html
    assert 'data-error-for="message"' not in html
    assert not Inquiry.objects.exists()


def test_the_web_form_opens_an_inquiry_and_acknowledges_it_by_mail(smtp):  # noqa: F811
    config = SupportSettings.load()
    config.reply_address = "support@banso.example.jp"
    config.save()
    response = Client().post(
        FORM,
        {
            "name": "田中太郎",
            "email": "taro@example.jp",
            "subject": "領収書の発行",
            "message": "領収書を発行してください。",
        },
    )
    assert response.status_code == 200
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == Channel.FORM and inquiry.requester_name == "田中太郎"
    assert f"#{inquiry.number}" in response.content.decode()
    assert "x-frame-options" not in {k.lower() for k in response.headers}  # embeddable in an iframe

    outbox.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    [mail] = smtp.to("taro@example.jp")
    assert f"[#{inquiry.number}]" in mail["Subject"]
    assert mail["Reply-To"] == "support@banso.example.jp"
    assert "領収書を発行してください。" in mail.get_body(preferencelist=("plain",)).get_content()


def test_staff_see_recent_sessions_with_outcome_and_the_embed_snippet(client_as):
    resolved = chat.start_session(visitor_name="来訪者A")
    resolved.outcome, resolved.ended_at = ChatOutcome.SELF_RESOLVED, timezone.now()
    resolved.save()
    chat.start_session(visitor_name="来訪者B")
    response = client_as(Role.CSM).get("/support/chat/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "来訪者A" in html and "来訪者B" in html
    assert 'data-outcome="self_resolved"' in html
    assert "support/widget.js" in html and "data-banso=" in html
    assert 'id="self-resolution-rate"' in html and "100.0%" in html
    assert 'id="channel-settings"' not in html  # only managers change settings
    detail = client_as(Role.CSM).get(f"/support/chat/{resolved.pk}/")
    assert detail.status_code == 200


def test_managers_change_widget_and_mail_settings_with_an_audit_entry(client_as):
    manager = client_as(Role.OPS_MANAGER)
    page = manager.get("/support/chat/")
    assert 'id="channel-settings"' in page.content.decode()
    data = {
        "reply_address": "help@banso.example.jp",
        "imap_port": 993,
        "imap_folder": "INBOX",
        "widget_origins": "https://shop.example.jp",
        "bot_enabled": "on",
        "bot_name": "ばんそうボット",
        "bot_min_score": "0.5",
        "inbound_secret": "s3cret",
    }
    response = manager.post("/support/chat/settings/", data)
    assert response.status_code == 302
    config = SupportSettings.load()
    assert config.widget_origins == "https://shop.example.jp" and config.bot_name == "ばんそうボット"
    assert AuditEntry.objects.filter(object_id=str(config.pk)).exists()
    bad = manager.post("/support/chat/settings/", {**data, "reply_address": "not-mail"})
    assert bad.status_code == 422 and 'data-error-for="reply_address"' in bad.content.decode()
    assert client_as(Role.SUPPORT_AGENT).post("/support/chat/settings/", data).status_code == 403


def test_the_api_lists_sessions_and_takes_raw_mail(api_as):
    session = chat.start_session(visitor_name="来訪者C")
    viewer = api_as(Role.CSM)
    listed = viewer.get("/api/support/chat/sessions")
    assert listed.status_code == 200 and listed.json()[0]["visitor_name"] == "来訪者C"
    assert viewer.get(f"/api/support/chat/sessions/{session.pk}").json()["entries"] == []
    assert viewer.get("/api/support/chat/stats").json()["self_resolution_rate"] is None
    raw = "From: a@example.jp\r\nSubject: =?utf-8?b?5LqI57SE?=\r\nMessage-ID: <api1@x>\r\n\r\n本文です\r\n"
    agent = api_as(Role.SUPPORT_AGENT)
    created = agent.post("/api/support/chat/mail", {"raw": raw}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert Inquiry.objects.get(number=created.json()["inquiry"]).subject == "予約"
    again = agent.post("/api/support/chat/mail", {"raw": raw}, content_type="application/json")
    assert again.status_code == 200
    bad = agent.post("/api/support/chat/mail", {"raw": "Subject: x\r\n\r\nno sender"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "from"
    readonly = api_as(Role.VIEWER)
    assert readonly.post("/api/support/chat/mail", {"raw": raw}, content_type="application/json").status_code == 403


def test_the_command_line_takes_a_mail_file_and_reports_chat_figures(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "mail.eml"
    path.write_bytes(b"From: b@example.jp\r\nSubject: test\r\nMessage-ID: <cli1@x>\r\n\r\nhello\r\n")
    out = StringIO()
    call_command("support", "mail-receive", str(path), stdout=out)
    assert "new inquiry #" in out.getvalue()
    out = StringIO()
    call_command("support", "chat-stats", "--json", stdout=out)
    assert '"self_resolution_rate": null' in out.getvalue()
