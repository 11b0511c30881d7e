"""Newsletters sent for real: queued through the outbox and delivered by its worker to a loopback SMTP server
(aiosmtpd); tracking links and the open pixel followed with the test client."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from banso.billing import newsletters
from banso.billing.models import NewsletterDelivery, NewsletterStatus
from banso.playbooks import outbox
from banso.playbooks.models import OutboxMessage

from ..mail import smtp  # noqa: F401 (fixture)
from .factories_newsletter import TOKYO, NewsletterFactory, member, segment_of

pytestmark = pytest.mark.django_db
SEND_AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)
CLICK = re.compile(r"https://banso\.example\.jp/n/c/[^/\s]+/\d+")
PIXEL = re.compile(r"https://banso\.example\.jp/n/o/[^\"\s]+\.gif")


def deliver() -> None:
    """What the outbox worker does, until nothing is due."""
    for _ in range(10):
        if not outbox.deliver_due(now=timezone.now() + dt.timedelta(minutes=1)).claimed:
            return


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def scheduled(**kwargs):
    return NewsletterFactory(status=NewsletterStatus.SCHEDULED, scheduled_at=SEND_AT, **kwargs)


def test_a_scheduled_newsletter_reaches_each_current_segment_member_once_even_when_sending_runs_twice(smtp):  # noqa: F811
    sato = member("佐藤 花子", "sato@kyaku.example.jp")
    suzuki = member("鈴木 一郎", "suzuki@kyaku.example.jp")
    outsider = member("高橋 次郎", "takahashi@kyaku.example.jp")
    former = member("田中 三郎", "tanaka@kyaku.example.jp")
    no_email = member("伊藤 四郎", "")
    gone = member("渡辺 五郎", "Watanabe@kyaku.example.jp")
    outbox.unsubscribe("watanabe@kyaku.example.jp")
    newsletter = scheduled(segment=segment_of(sato, suzuki, no_email, gone, left=(former,)))

    assert newsletters.send_due(now=SEND_AT - dt.timedelta(minutes=1)) == []
    after = SEND_AT + dt.timedelta(minutes=1)
    assert [n.pk for n in newsletters.send_due(now=after)] == [newsletter.pk]
    assert newsletters.send_due(now=after) == []
    deliver()
    newsletters.send_due(now=after + dt.timedelta(hours=1))
    deliver()

    assert sorted(m["To"] for m in smtp.messages) == ["sato@kyaku.example.jp", "suzuki@kyaku.example.jp"]
    assert not smtp.to(outsider.email) and not smtp.to(former.email)
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.SENT and newsletter.recipients == 2
    assert newsletter.sent_at == after
    assert OutboxMessage.objects.filter(source="newsletter").count() == 2
    assert set(OutboxMessage.objects.values_list("dedupe_key", flat=True)) == {
        f"{newsletter.pk}:{sato.pk}",
        f"{newsletter.pk}:{suzuki.pk}",
    }
    results = newsletters.results(newsletter)
    assert results["delivered"] == 2 and results["delivered_rate"] == 100


def test_a_run_that_stopped_half_way_is_finished_without_second_copies(smtp):  # noqa: F811
    members = [member(f"会員{i}", f"m{i}@kyaku.example.jp") for i in range(5)]
    newsletter = scheduled(segment=segment_of(*members))
    after = SEND_AT + dt.timedelta(minutes=1)
    assert newsletters._freeze(newsletter.pk, after)
    newsletters._enqueue_batch(newsletter, 2)  # the process stopped here
    member("後から入会", "late@kyaku.example.jp")  # not frozen: joined after sending started
    newsletters.send_due(now=after)
    deliver()
    assert len(smtp.messages) == 5 and not smtp.duplicates()
    assert not smtp.to("late@kyaku.example.jp")


def test_all_members_means_every_member_with_an_email(smtp):  # noqa: F811
    member("佐藤 花子", "sato@kyaku.example.jp")
    member("メールなし", "")
    from banso.accounts.models import EndUser

    EndUser.objects.create(kind="booker", source="x", external_id="b1", name="予約者", email="booker@example.jp")
    scheduled(segment=None)
    newsletters.send_due(now=SEND_AT)
    deliver()
    assert [m["To"] for m in smtp.messages] == ["sato@kyaku.example.jp"]


def test_merge_fields_are_rendered_in_japanese(smtp, settings):  # noqa: F811
    sato = member("佐藤 花子", "sato@kyaku.example.jp", since=dt.date(2024, 4, 1), rank="ゴールド")
    scheduled(
        segment=segment_of(sato),
        subject="{{ member.name }} 様 {{ newsletter.title }}",
        title="冬の会員通信",
        body="{{ member.name }} 様\n会員登録日: {{ member.member_since }}\n会員ランク: {{ member.attributes.rank }}\n"
        "{{ company.name }}",
    )
    newsletters.send_due(now=SEND_AT)
    deliver()
    (mail,) = smtp.messages
    assert mail["Subject"] == "佐藤 花子 様 冬の会員通信"
    text = text_of(mail)
    assert "佐藤 花子 様" in text and "会員登録日: 2024年4月1日" in text and "会員ランク: ゴールド" in text
    assert "伴走株式会社" in text


def test_a_member_who_allows_tracking_gets_the_pixel_and_counted_links_others_plain_links(smtp):  # noqa: F811
    yes = member("佐藤 花子", "sato@kyaku.example.jp", tracking=True)
    no = member("鈴木 一郎", "suzuki@kyaku.example.jp")
    scheduled(segment=segment_of(yes, no))
    newsletters.send_due(now=SEND_AT)
    deliver()

    (tracked,) = smtp.to(yes.email)
    assert len(CLICK.findall(text_of(tracked))) == 2
    assert "https://tabi.example.jp/spring/" not in text_of(tracked)
    assert PIXEL.search(html_of(tracked)) and CLICK.search(html_of(tracked))
    (plain,) = smtp.to(no.email)
    assert "https://tabi.example.jp/spring/" in text_of(plain)
    assert "https://tabi.example.jp/stays/?area=kyoto" in text_of(plain)
    assert not CLICK.search(text_of(plain)) and not PIXEL.search(html_of(plain)) and "/n/" not in html_of(plain)
    for mail in (tracked, plain):  # the outbox's unsubscribe link and one-click headers
        assert mail["List-Unsubscribe"].strip().startswith("<https://banso.example.jp/playbooks/outbox/unsubscribe/")
        assert "/playbooks/outbox/unsubscribe/" in text_of(mail)
    assert NewsletterDelivery.objects.get(end_user=yes).tracked
    assert not NewsletterDelivery.objects.get(end_user=no).tracked


def test_a_newsletter_without_tracking_tracks_nobody(smtp):  # noqa: F811
    yes = member("佐藤 花子", "sato@kyaku.example.jp", tracking=True)
    scheduled(segment=segment_of(yes), track=False)
    newsletters.send_due(now=SEND_AT)
    deliver()
    (mail,) = smtp.messages
    assert not CLICK.search(text_of(mail)) and not PIXEL.search(html_of(mail))


def test_opens_and_clicks_are_recorded_from_the_mails_links(smtp, client):  # noqa: F811
    yes = member("佐藤 花子", "sato@kyaku.example.jp", tracking=True)
    no = member("鈴木 一郎", "suzuki@kyaku.example.jp")
    newsletter = scheduled(segment=segment_of(yes, no))
    newsletters.send_due(now=SEND_AT)
    deliver()
    (mail,) = smtp.to(yes.email)
    pixel = PIXEL.search(html_of(mail)).group(0).removeprefix("https://banso.example.jp")
    links = [link.removeprefix("https://banso.example.jp") for link in CLICK.findall(text_of(mail))]

    response = client.get(pixel)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    first = client.get(links[1])
    assert first.status_code == 302 and first["Location"] == "https://tabi.example.jp/stays/?area=kyoto"
    client.get(links[0])

    delivery = NewsletterDelivery.objects.get(end_user=yes)
    assert delivery.opened_at and delivery.clicked_at and delivery.clicks == 2
    results = newsletters.results(newsletter)
    assert (results["tracked"], results["opened"], results["clicked"]) == (1, 1, 1)
    assert results["opened_rate"] == 100 and results["clicked_rate"] == 100


def test_a_click_without_the_pixel_counts_as_an_open(smtp, client):  # noqa: F811
    yes = member("佐藤 花子", "sato@kyaku.example.jp", tracking=True)
    scheduled(segment=segment_of(yes))
    newsletters.send_due(now=SEND_AT)
    deliver()
    link = CLICK.search(text_of(smtp.messages[0])).group(0).removeprefix("https://banso.example.jp")
    assert client.get(link).status_code == 302
    assert NewsletterDelivery.objects.get().opened_at is not None


def test_the_click_redirect_goes_only_to_links_written_in_the_newsletter(smtp, client):  # noqa: F811
    yes = member("佐藤 花子", "sato@kyaku.example.jp", tracking=True)
    scheduled(segment=segment_of(yes))
    newsletters.send_due(now=SEND_AT)
    deliver()
    link = CLICK.search(text_of(smtp.messages[0])).group(0).removeprefix("https://banso.example.jp")
    token = link.split("/")[3]

    assert client.get(f"/n/c/{token}/2").status_code == 404  # the newsletter has two links
    assert client.get(f"/n/c/{token}x/0").status_code == 404  # a token nobody was sent
    answer = client.get(f"/n/c/{token}/0?url=https://evil.example.com/&next=https://evil.example.com/")
    assert answer["Location"] == "https://tabi.example.jp/spring/"
    assert client.get("/n/o/unknown.gif").status_code == 200  # same image, nothing recorded
    assert NewsletterDelivery.objects.get().clicks == 1


def test_a_link_built_from_a_merge_field_is_not_redirected():
    body = "詳しくは https://tabi.example.jp/m/{{ member.id }}/ と https://tabi.example.jp/spring/をご覧ください。"
    assert newsletters.links(body) == ["https://tabi.example.jp/spring/"]


def test_the_outbox_unsubscribe_link_works_and_the_next_newsletter_skips_the_address(smtp, client):  # noqa: F811
    sato = member("佐藤 花子", "sato@kyaku.example.jp")
    suzuki = member("鈴木 一郎", "suzuki@kyaku.example.jp")
    segment = segment_of(sato, suzuki)
    first = NewsletterFactory(
        status=NewsletterStatus.SCHEDULED, scheduled_at=timezone.now() - dt.timedelta(minutes=1), segment=segment
    )
    newsletters.send_due()
    deliver()
    link = smtp.to(sato.email)[0]["List-Unsubscribe"].strip().strip("<>").removeprefix("https://banso.example.jp")
    assert "佐藤" not in client.get(link).content.decode()  # the confirm page, before anything happens
    assert client.post(link).status_code == 200
    assert outbox.is_unsubscribed(sato.email)
    first.refresh_from_db()
    assert newsletters.results(first)["unsubscribed"] == 1

    second = scheduled(segment=segment)
    newsletters.send_due(now=SEND_AT)
    deliver()
    second.refresh_from_db()
    assert second.recipients == 1
    assert len(smtp.to(sato.email)) == 1 and len(smtp.to(suzuki.email)) == 2


def test_the_scheduler_job_queues_one_sending_task_when_a_newsletter_is_due():
    from django_tasks_db.models import DBTaskResult

    scheduled()
    assert newsletters.due_job(SEND_AT - dt.timedelta(minutes=1)) is None
    assert newsletters.due_job(SEND_AT) == "newsletters: sending queued"
    assert newsletters.due_job(SEND_AT + dt.timedelta(minutes=1)) is None  # one is already waiting
    assert DBTaskResult.objects.count() == 1


def test_the_sending_task_sends_what_is_due(smtp):  # noqa: F811
    from banso.billing.newsletter_tasks import send_due_newsletters

    newsletter = NewsletterFactory(
        status=NewsletterStatus.SCHEDULED,
        scheduled_at=timezone.now() - dt.timedelta(minutes=1),
        segment=segment_of(member("佐藤 花子", "sato@kyaku.example.jp")),
    )
    assert send_due_newsletters.call() == "1 newsletter(s) sent"
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.SENT


def test_the_command_sends_what_is_due_and_lists_newsletters(smtp, capsys):  # noqa: F811
    newsletter = NewsletterFactory(
        status=NewsletterStatus.SCHEDULED,
        scheduled_at=timezone.now() - dt.timedelta(minutes=1),
        segment=segment_of(member("佐藤 花子", "sato@kyaku.example.jp")),
        title="冬の会員通信",
    )
    call_command("billing", "newsletters", "send-due")
    assert f"#{newsletter.pk} 冬の会員通信: 1 recipients queued" in capsys.readouterr().out
    deliver()
    call_command("billing", "newsletters", "list")
    out = capsys.readouterr().out
    assert f"{newsletter.pk}\tsent\t" in out and "\t1\t100.0%\t" in out and "冬の会員通信" in out


def test_a_cancelled_newsletter_is_not_sent(smtp):  # noqa: F811
    newsletter = scheduled(segment=segment_of(member("佐藤 花子", "sato@kyaku.example.jp")))
    newsletters.cancel(newsletter, None)
    assert newsletters.send_due(now=SEND_AT) == []
    deliver()
    assert smtp.messages == []
    newsletter.refresh_from_db()
    assert newsletter.status == NewsletterStatus.CANCELLED
    with pytest.raises(newsletters.NewsletterError):
        newsletters.cancel(newsletter, None)
