"""Background task of the support channels: polling the IMAP mailbox (queued by the scheduler every minute)."""

from django_tasks import task

from . import channels_email


@task()
def poll_mailbox() -> str:
    """Take unseen mail from the configured IMAP folder into the desk."""
    return str(channels_email.poll_imap())
