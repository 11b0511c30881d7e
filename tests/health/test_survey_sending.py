"""Sending a survey wave through a real SMTP server on loopback, and answering the links it mails."""

import datetime as dt

import pytest
from django.core.mail.backends.smtp import EmailBackend
from django.test import Client
from django.utils import timezone

from banso.accounts.choices import AccountKind
from banso.activity.models import Event
from banso.health import surveys
from banso.health.models import InvitationStatus, SurveyResponse, SurveyWave, WaveStatus
from tests.accounts.factories import AccountFactory, ContactFactory

from .survey_factories import SurveyFactory, smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _path(link: str) -> str:
    return link.removeprefix("https://banso.example.jp")


@pytest.fixture
def people():
    """Four customer accounts: a plain primary contact, one who left with a successor, one who left without,
    one without email; and a merchant, who is not a customer."""
    a1, a2, a3, a4 = AccountFactory.create_batch(4)
    stays = ContactFactory(account=a1, is_primary=True, email="tanaka@kyaku.example.jp")
    successor = ContactFactory(account=a2, email="suzuki@kyaku.example.jp")
    ContactFactory(
        account=a2, is_primary=True, email="sato@kyaku.example.jp", left_on=dt.date(2026, 9, 30), successor=successor
    )
    ContactFactory(account=a3, is_primary=True, email="gone@kyaku.example.jp", left_on=dt.date(2026, 9, 30))
    ContactFactory(account=a4, is_primary=True, email="")
    ContactFactory(account=AccountFactory(kind=AccountKind.MERCHANT), is_primary=True, email="shop@example.jp")
    ContactFactory(account=a1, is_primary=False, email="other@kyaku.example.jp")
    return {"stays": stays, "successor": successor, "accounts": (a1, a2, a3, a4)}


def test_wave_mails_the_current_contacts_and_each_link_takes_exactly_one_answer(smtp, people):  # noqa: F811
    survey = SurveyFactory()
    wave = surveys.start_wave(survey, enqueue=False)
    wave = surveys.send_wave(wave.pk)

    assert wave.status == WaveStatus.DONE and (wave.total, wave.sent, wave.failed) == (2, 2, 0)
    assert sorted(m["To"] for m in smtp.messages) == ["suzuki@kyaku.example.jp", "tanaka@kyaku.example.jp"]
    mail = smtp.to("suzuki@kyaku.example.jp")[0]
    assert "伴走株式会社" in mail["Subject"] and survey.name in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    link = smtp.link(mail)
    assert link.startswith("https://banso.example.jp/survey/")
    assert link in html
    assert "伴走株式会社を同僚や知人に薦める可能性はどのくらいありますか？" in text
    assert "様" in text

    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(_path(link))
    assert page.status_code == 200
    body = page.content.decode()
    assert "伴走株式会社を同僚や知人に薦める可能性はどのくらいありますか？" in body
    assert body.count('name="score"') == 11  # 0–10
    csrf = anonymous.cookies["csrftoken"].value

    assert anonymous.post(_path(link), {"score": "9"}).status_code == 403  # no CSRF token
    thanks = anonymous.post(_path(link), {"score": "9", "comment": "サポートが早い", "csrfmiddlewaretoken": csrf})
    assert thanks.status_code == 200
    assert "ご回答ありがとうございました" in thanks.content.decode()

    again = anonymous.post(_path(link), {"score": "0", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 409
    assert "回答済み" in again.content.decode()
    assert anonymous.get(_path(link)).status_code == 409

    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.comment, answer.contact, answer.account) == (
        9,
        "サポートが早い",
        people["successor"],
        people["accounts"][1],
    )
    event = Event.objects.get(kind="survey_nps", source="survey")
    assert event.account_id == people["accounts"][1].pk and event.value == 9
    assert event.properties == {
        "survey": survey.pk,
        "wave": wave.pk,
        "contact": people["successor"].pk,
        "response": answer.pk,
    }


def test_a_tampered_or_expired_link_is_refused_in_japanese(smtp, people):  # noqa: F811
    wave = surveys.start_wave(SurveyFactory(), enqueue=False)
    surveys.send_wave(wave.pk)
    link = _path(smtp.link(smtp.to("tanaka@kyaku.example.jp")[0]))
    anonymous = Client()

    token = link.split("/")[2]
    tampered = link.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    refused = anonymous.post(tampered, {"score": "10"})
    assert refused.status_code == 404
    assert "このリンクは無効です" in refused.content.decode()
    assert anonymous.get("/survey/not-a-token/").status_code == 404

    wave.invitations.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    expired = anonymous.post(link, {"score": "10"})
    assert expired.status_code == 410
    assert "有効期限が切れています" in expired.content.decode()
    assert not SurveyResponse.objects.exists() and not Event.objects.filter(source="survey").exists()


def test_a_score_outside_the_scale_is_refused_and_nothing_is_stored(smtp, people):  # noqa: F811
    wave = surveys.start_wave(SurveyFactory(kind="csat"), enqueue=False)
    surveys.send_wave(wave.pk)
    link = _path(smtp.link(smtp.to("tanaka@kyaku.example.jp")[0]))
    anonymous = Client()
    assert anonymous.get(link).content.decode().count('name="score"') == 5  # 1–5
    refused = anonymous.post(link, {"score": "0"})
    assert refused.status_code == 422
    assert "1〜5" in refused.content.decode()
    assert anonymous.post(link, {"score": "abc"}).status_code == 422
    assert not SurveyResponse.objects.exists()
    assert anonymous.post(link, {"score": "5"}).status_code == 200
    assert Event.objects.get(source="survey").kind == "survey_csat"


class _KilledAt(EmailBackend):
    """An SMTP connection whose process dies at the n-th message: before handing it over, or just after the
    server accepted it (before the invitation could be marked sent)."""

    def __init__(self, n: int, after_accept: bool, **kwargs):
        super().__init__(**kwargs)
        self.n, self.after_accept, self.calls = n, after_accept, 0

    def send_messages(self, email_messages):
        self.calls += 1
        if self.calls == self.n and not self.after_accept:
            raise SystemExit("killed")
        sent = super().send_messages(email_messages)
        if self.calls == self.n:
            raise SystemExit("killed")
        return sent


def _ten_minutes_pass(wave):
    past = timezone.now() - surveys.STALL_AFTER - dt.timedelta(seconds=1)
    SurveyWave.objects.filter(pk=wave.pk).update(started_at=past)
    wave.invitations.filter(sent_at__isnull=False).update(sent_at=past)


def test_a_killed_send_resumes_without_mailing_anyone_already_marked_sent(smtp, people):  # noqa: F811
    ContactFactory.create_batch(2, account=people["accounts"][0], is_primary=True)
    wave = surveys.start_wave(SurveyFactory(), enqueue=False)
    assert wave.total == 4

    with pytest.raises(SystemExit):
        surveys.send_wave(wave.pk, connection=_KilledAt(3, after_accept=False))
    wave.refresh_from_db()
    assert wave.status == WaveStatus.SENDING and wave.sent == 2 and len(smtp.messages) == 2
    assert not surveys.resume_wave(wave)  # it might still be sending: no second sender
    _ten_minutes_pass(wave)

    assert surveys.resume_wave(wave)
    wave = surveys.send_wave(wave.pk)
    assert (wave.status, wave.sent) == (WaveStatus.DONE, 4)
    recipients = sorted(m["To"] for m in smtp.messages)
    assert recipients == sorted(wave.invitations.values_list("email", flat=True))  # each exactly once
    assert not surveys.resume_wave(wave)


def test_a_send_killed_between_accept_and_mark_mails_that_one_again_with_the_same_link(smtp, people):  # noqa: F811
    wave = surveys.start_wave(SurveyFactory(), enqueue=False)
    with pytest.raises(SystemExit):
        surveys.send_wave(wave.pk, connection=_KilledAt(1, after_accept=True))
    _ten_minutes_pass(wave)
    assert surveys.resume_wave(wave)
    surveys.send_wave(wave.pk)

    first, again = smtp.to(smtp.messages[0]["To"])  # at-least-once: this recipient got it twice
    assert smtp.link(first) == smtp.link(again)
    client = Client()
    assert client.post(_path(smtp.link(first)), {"score": "8"}).status_code == 200
    assert client.post(_path(smtp.link(again)), {"score": "8"}).status_code == 409
    assert SurveyResponse.objects.count() == 1


def test_a_refused_recipient_is_recorded_and_the_others_are_still_sent(smtp, people):  # noqa: F811
    smtp.refuse.add("tanaka@kyaku.example.jp")
    wave = surveys.send_wave(surveys.start_wave(SurveyFactory(), enqueue=False).pk)
    assert (wave.sent, wave.failed, wave.status) == (1, 1, WaveStatus.DONE)
    failed = wave.invitations.get(status=InvitationStatus.FAILED)
    assert failed.email == "tanaka@kyaku.example.jp" and "550" in failed.error
    assert [m["To"] for m in smtp.messages] == ["suzuki@kyaku.example.jp"]


def test_an_unreachable_mail_server_fails_the_wave_with_its_reason(settings, people):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    wave = surveys.send_wave(surveys.start_wave(SurveyFactory(), enqueue=False).pk)
    assert wave.status == WaveStatus.FAILED and wave.error
    assert wave.invitations.filter(status=InvitationStatus.PENDING).count() == 2


def test_a_test_send_reaches_me_and_its_link_stores_nothing(smtp):  # noqa: F811
    survey = SurveyFactory()
    surveys.send_test(survey, "me@banso.example.jp")
    (mail,) = smtp.to("me@banso.example.jp")
    link = _path(smtp.link(mail))
    anonymous = Client()
    page = anonymous.get(link)
    assert "テスト用のリンク" in page.content.decode()
    assert anonymous.post(link, {"score": "7"}).status_code == 200
    assert not SurveyResponse.objects.exists() and not Event.objects.exists()


def test_all_contacts_mode_asks_each_current_person_once(smtp):  # noqa: F811
    account = AccountFactory()
    successor = ContactFactory(account=account, email="new@kyaku.example.jp")
    for _ in range(2):  # two people who left, both handing over to the same successor
        ContactFactory(account=account, left_on=dt.date(2026, 1, 1), successor=successor)
    ContactFactory(account=account, email="another@kyaku.example.jp")
    survey = SurveyFactory(recipients="all")
    wave = surveys.start_wave(survey, enqueue=False)
    assert sorted(wave.invitations.values_list("email", flat=True)) == [
        "another@kyaku.example.jp",
        "new@kyaku.example.jp",
    ]
