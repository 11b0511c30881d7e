from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivityConfig(AppConfig):
    name = "banso.activity"
    label = "activity"
    verbose_name = _("Activity and imports")

    def ready(self) -> None:
        from banso.core.labels import register_event_kinds

        # The kinds the demo, the benchmarks and common connectors produce; other apps add theirs.
        register_event_kinds(
            {
                "login": _("Login"),
                "page_view": _("Page view"),
                "search": _("Search"),
                "report_export": _("Report export"),
                "inquiry_opened": _("Inquiry opened"),
                "inquiry_resolved": _("Inquiry resolved"),
                "survey_nps": _("NPS answer"),
                "survey_answer": _("Survey answer"),
                "booking": _("Booking"),
                "purchase": _("Purchase"),
                "visit": _("Visit"),
                "application": _("Application"),
                "inquiry": _("Inquiry"),
                "interview": _("Interview"),
                "offer": _("Offer"),
                "click": _("Click"),
                "conversion": _("Conversion"),
                "touch": _("Touch"),
                "client_report": _("Report to the client"),
            }
        )
