"""Sign-in, sign-out and the home page."""

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from .models import BackgroundRun
from .permissions import Capability, has_capability, requires


def progress_fragment(request: HttpRequest, template: str, run: BackgroundRun) -> HttpResponse:
    """A background run's progress panel, polled by htmx while the run goes; once it has ended, htmx is
    told to reload the whole page (which then shows the outcome)."""
    response = render(request, template, {"run": run, "running": run.running})
    if not run.running and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


class BansoLoginView(LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@requires(Capability.SIGNED_IN)
def home(request: HttpRequest) -> HttpResponse:
    if has_capability(request.user, Capability.VIEW_ACCOUNTS):
        return redirect("accounts:list")
    # External merchant users land on their portal: the billing app's when it is installed (looked up by URL
    # name so that core does not import billing), else the list of accounts they may see documents for.
    # (`portal_accounts` is the reverse accessor of accounts.Account.portal_users.)
    if has_capability(request.user, Capability.VIEW_OWN_DOCUMENTS):
        try:
            return redirect(reverse("billing:portal"))
        except NoReverseMatch:
            pass
    portal_accounts = getattr(request.user, "portal_accounts").all()  # noqa: B009
    return render(request, "core/portal_home.html", {"portal_accounts": portal_accounts})
