"""Delivery of agents' public replies to the customer's channel: email through the playbooks outbox in the
same thread (In-Reply-To / References to the customer's last mail, "[#number]" in the subject so a reply
without headers still threads); chat replies reach the widget through realtime.publish, which desk.reply
calls after this."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Channel, Message, SupportSettings


def reply_subject(subject: str, number: int) -> str:
    subject = subject.strip()
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    token = f"[#{number}]"
    return subject if token in subject else f"{subject} {token}"


def thread_headers(message: Message, reply_address: str) -> dict[str, str]:
    """In-Reply-To: the newest earlier mail of the thread; References: all of them, oldest first."""
    ids = list(
        Message.objects.filter(inquiry_id=message.inquiry_id, id__lt=message.pk, internal=False)
        .exclude(email_message_id="")
        .order_by("id")
        .values_list("email_message_id", flat=True)
    )
    headers: dict[str, str] = {}
    if ids:
        headers["In-Reply-To"] = ids[-1]
        headers["References"] = " ".join(ids[-20:])
    if reply_address:
        headers["Reply-To"] = reply_address
    return headers


def deliver_reply(message: Message) -> None:
    """Called inside the reply's transaction (so the outbox row commits with the message, or neither)."""
    from banso.playbooks.outbox import enqueue_email

    inquiry = message.inquiry
    if message.internal or inquiry.channel not in (Channel.EMAIL, Channel.FORM):
        return  # chat: realtime.publish; phone: no outgoing channel (the web form's customers get mail)
    if not inquiry.requester_email:
        return
    config = SupportSettings.load()
    row = enqueue_email(
        inquiry.requester_email,
        reply_subject(inquiry.subject, inquiry.number),
        message.body,
        source="support",
        dedupe_key=f"reply-{message.pk}",
        account=inquiry.account,
        from_email=config.reply_address or None,
        headers=thread_headers(message, config.reply_address),
    )
    message.outbox_message = row
    message.email_message_id = row.message_id
    message.save(update_fields=["outbox_message", "email_message_id"])


def acknowledge_form(inquiry_id: int) -> None:
    """The web form's receipt by mail (queued inside the creating transaction)."""
    from banso.playbooks.outbox import enqueue_email

    from .models import Inquiry

    inquiry = Inquiry.objects.get(pk=inquiry_id)
    if not inquiry.requester_email:
        return
    config = SupportSettings.load()
    first = inquiry.messages.order_by("id").first()
    text = _(
        "Thank you for contacting us. We received your inquiry #%(number)d and will answer by email.\n\n"
        "Subject: %(subject)s\n\n%(body)s"
    ) % {"number": inquiry.number, "subject": inquiry.subject, "body": first.body if first else ""}
    enqueue_email(
        inquiry.requester_email,
        reply_subject(_("We received your inquiry"), inquiry.number).removeprefix("Re: "),
        text,
        source="support",
        dedupe_key=f"form-ack-{inquiry.pk}",
        account=inquiry.account,
        from_email=config.reply_address or None,
        headers={"Reply-To": config.reply_address} if config.reply_address else {},
    )
