"""Request-wide rules: deny by default (every page needs a signed-in user unless public), Japanese first."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import check_for_language

# /survey/: answer links in mails; /playbooks/outbox/unsubscribe/: unsubscribe links in tech-touch mails;
# /n/: newsletter open pixels and click redirects (billing.newsletter_public_urls).
PUBLIC_PREFIXES = (
    "/login/",
    "/i18n/",
    "/static/",
    "/api/",
    "/healthz",
    "/survey/",
    "/playbooks/outbox/unsubscribe/",
    "/n/",
    # The support desk's public parts: the help centre, the chat widget and web form, inbound mail.
    "/support/help/",
    "/support/widget/",
    "/support/inbound/",
    # Campaigns: tracked click links of push/email notifications (random per-delivery tokens).
    "/campaigns/c/",
)


class LoginRequiredMiddleware:
    """A safety net under `@requires`: anonymous requests never reach a view that forgot its check.

    The API is excluded because it answers 401 in JSON through its own authentication classes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        if request.user.is_authenticated or request.path.startswith(PUBLIC_PREFIXES):
            return None
        return redirect_to_login(request.get_full_path())


class JapaneseFirstLocaleMiddleware(LocaleMiddleware):
    """Japanese unless the user chose otherwise with the language switch (Django's language cookie).

    Django's own middleware would follow the browser's Accept-Language, so a team member whose browser
    is set to English would see English without asking for it; Banso's teams work in Japanese first.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen and check_for_language(chosen) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
