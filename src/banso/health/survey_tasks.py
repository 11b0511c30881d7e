"""Background sending of survey waves: the worker sends a queued wave, recording each recipient as it goes."""

from django_tasks import task

from . import surveys


@task()
def send_survey_wave(wave_id: int) -> str:
    """Send one queued wave; its progress (sent, failed, per-recipient status) is recorded on the wave."""
    return surveys.send_wave(wave_id).status
