"""What the funnels app adds to shared parts at start-up: the scheduler's jobs (the nightly funnel
computation, staleness checks, first-response sync), its Account 360 cards, and the Japanese names of the
recruiting funnel's event kinds for timelines."""

from django.utils.translation import gettext_lazy


def register() -> None:
    """Called from FunnelsConfig.ready()."""
    from banso.core.labels import register_event_kinds

    from . import computing, presenting, responses, staleness

    responses.register()
    computing.register()
    staleness.register()
    presenting.register()
    register_event_kinds(
        {
            "application": gettext_lazy("Application"),
            "interview_held": gettext_lazy("Interview held"),
            "offer_made": gettext_lazy("Offer made"),
            "applicant_contacted": gettext_lazy("Applicant contacted"),
        }
    )
