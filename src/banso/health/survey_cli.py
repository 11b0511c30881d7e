"""`banso health surveys …`: the survey actions of the `health` command (added there as one subcommand).

banso health surveys list                     the surveys with their ids
banso health surveys send <survey id>         send a new wave here and now, one line per recipient
banso health surveys send <survey id> --queue hand the wave to the task worker instead
banso health surveys resume <wave id>         send what a stopped wave has not sent (never twice)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError

from . import surveys
from .models import Survey, SurveyWave, WaveStatus


def add_parser(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser("surveys", help="NPS/CSAT surveys: list, send, resume")
    sub = parser.add_subparsers(dest="survey_action", required=True, metavar="survey_action")
    sub.add_parser("list", help="the surveys with their ids")
    send = sub.add_parser("send", help="send a new wave of a survey")
    send.add_argument("survey_id", type=int)
    send.add_argument("--queue", action="store_true", help="queue for the task worker instead of sending here")
    resume = sub.add_parser("resume", help="send the rest of a stopped wave")
    resume.add_argument("wave_id", type=int)


def run(options: dict[str, Any], out: Callable[[str], None], err: Callable[[str], None]) -> None:
    action = options["survey_action"]
    if action == "list":
        for survey in Survey.objects.order_by("id"):
            repeat = f"every {survey.repeat_months} months" if survey.repeat_months else "one-off"
            out(f"{survey.pk}\t{survey.kind}\t{repeat}\t{survey.name}")
        return
    if action == "send":
        found = Survey.objects.filter(pk=options["survey_id"]).first()
        if found is None:
            raise CommandError(f"survey_id: no survey {options['survey_id']}")
        wave = surveys.start_wave(found, enqueue=bool(options["queue"]))
        if options["queue"]:
            out(f"wave {wave.pk}: {wave.total} recipients queued for the worker")
            return
    else:
        stopped = SurveyWave.objects.filter(pk=options["wave_id"]).first()
        if stopped is None:
            raise CommandError(f"wave_id: no wave {options['wave_id']}")
        if stopped.status in (WaveStatus.QUEUED, WaveStatus.SENDING) and not surveys.is_stalled(stopped):
            raise CommandError(f"wave_id: wave {stopped.pk} is {stopped.status}; resume it once it has stopped")
        SurveyWave.objects.filter(pk=stopped.pk).update(status=WaveStatus.QUEUED)
        wave = stopped
    wave = surveys.send_wave(wave.pk, echo=err)
    out(f"wave {wave.pk}: {wave.sent} sent, {wave.failed} failed of {wave.total} ({wave.get_status_display()})")
    if wave.status == WaveStatus.FAILED:
        raise CommandError(f"wave {wave.pk}: {wave.error}")
