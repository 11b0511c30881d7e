"""What each role may do, and the one check every page and API call goes through.

Views declare the capability they need with `@requires(Capability.X)`; the permission-matrix test
walks the URL map and fails for any view that declares none, so no page can be left open by accident.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from .choices import Role
from .models import User


class Capability(StrEnum):
    VIEW_ACCOUNTS = "view_accounts"
    EDIT_ACCOUNTS = "edit_accounts"
    IMPORT_DATA = "import_data"
    VIEW_AUDIT = "view_audit"
    VIEW_OWN_DOCUMENTS = "view_own_documents"
    MANAGE_USERS = "manage_users"
    # Metric values, segments and their runs; managing means custom metrics, segments and recomputes.
    VIEW_ANALYTICS = "view_analytics"
    MANAGE_ANALYTICS = "manage_analytics"
    # Design scorecards, send surveys, train the churn-risk model, edit the churn-reason taxonomy.
    MANAGE_HEALTH = "manage_health"
    # Record and edit churn records.
    RECORD_CHURN = "record_churn"
    # Log touches (calls, mails, meetings) and work one's own coverage queue.
    LOG_TOUCHES = "log_touches"
    # Generate, adjust and lock the monthly coverage plan; see the whole team's queues; success settings.
    PLAN_COVERAGE = "plan_coverage"
    # Work tasks: one's own and those delegated to one, comment, tick checklists, start a playbook by hand.
    WORK_TASKS = "work_tasks"
    # Design playbooks, task and email templates; see the whole team's tasks and the outbox; retry messages.
    MANAGE_PLAYBOOKS = "manage_playbooks"
    # Define funnels and staleness trackers, recompute funnels, generate and send client reports.
    MANAGE_FUNNELS = "manage_funnels"
    # Billing figures: monthly reports, statements, invoices, reconciliation (internal staff who need them).
    VIEW_BILLING = "view_billing"
    # Close a month, commission rules, adjustments, resolve reconciliation items, send newsletters.
    MANAGE_BILLING = "manage_billing"
    # Work inquiries: reply, note, assign, change status, request other teams, use macros.
    WORK_INQUIRIES = "work_inquiries"
    # Write and publish knowledge-base articles, synonyms; confirm inquiry types.
    EDIT_KNOWLEDGE = "edit_knowledge"
    # Desk settings: SLA policies, statuses, team routing, mail channels, widget, shared macros, classifier.
    MANAGE_SUPPORT = "manage_support"
    # Marketplace: record provider incidents, look up bookings, use the booking concierge.
    WORK_MARKETPLACE = "work_marketplace"
    # Confirm or dismiss incidents, edit threshold rules, approve and execute their actions, hold providers.
    MANAGE_MARKETPLACE = "manage_marketplace"
    # Campaigns: offers, special rates, conversion imports, forecasts and proposals (affiliate coordinators).
    WORK_CAMPAIGNS = "work_campaigns"
    # Send push/email/webhook campaigns to end-user segments; apply special-rate switches by hand.
    SEND_CAMPAIGNS = "send_campaigns"
    # Any signed-in user: their own profile, the home page.
    SIGNED_IN = "signed_in"


_INTERNAL_READ = {Capability.SIGNED_IN, Capability.VIEW_ACCOUNTS, Capability.VIEW_ANALYTICS}
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability) - {Capability.VIEW_OWN_DOCUMENTS},
    Role.OPS_MANAGER: frozenset(
        _INTERNAL_READ
        | {
            Capability.EDIT_ACCOUNTS,
            Capability.IMPORT_DATA,
            Capability.VIEW_AUDIT,
            Capability.MANAGE_ANALYTICS,
            Capability.MANAGE_HEALTH,
            Capability.RECORD_CHURN,
            Capability.LOG_TOUCHES,
            Capability.PLAN_COVERAGE,
            Capability.WORK_TASKS,
            Capability.MANAGE_PLAYBOOKS,
            Capability.MANAGE_FUNNELS,
            Capability.VIEW_BILLING,
            Capability.MANAGE_BILLING,
            Capability.WORK_INQUIRIES,
            Capability.EDIT_KNOWLEDGE,
            Capability.MANAGE_SUPPORT,
            Capability.WORK_MARKETPLACE,
            Capability.MANAGE_MARKETPLACE,
            Capability.WORK_CAMPAIGNS,
            Capability.SEND_CAMPAIGNS,
        }
    ),
    Role.CSM: frozenset(
        _INTERNAL_READ
        | {
            Capability.EDIT_ACCOUNTS,
            Capability.VIEW_AUDIT,
            Capability.RECORD_CHURN,
            Capability.LOG_TOUCHES,
            Capability.WORK_TASKS,
            Capability.WORK_INQUIRIES,
            Capability.WORK_MARKETPLACE,
            Capability.WORK_CAMPAIGNS,
        }
    ),
    Role.SUPPORT_AGENT: frozenset(
        _INTERNAL_READ
        | {
            Capability.WORK_TASKS,
            Capability.WORK_INQUIRIES,
            Capability.EDIT_KNOWLEDGE,
            Capability.WORK_MARKETPLACE,
        }
    ),
    # Assistant staff (seed 002) do the tasks delegated to them, with the intent the owner wrote down.
    Role.ASSISTANT: frozenset(_INTERNAL_READ | {Capability.WORK_TASKS}),
    Role.VIEWER: frozenset(_INTERNAL_READ),
    Role.MERCHANT_USER: frozenset({Capability.SIGNED_IN, Capability.VIEW_OWN_DOCUMENTS}),
}


def has_capability(user: User | AnonymousUser | None, capability: Capability) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    assert isinstance(user, User)
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def capabilities_of(user: User | AnonymousUser) -> frozenset[Capability]:
    if not user.is_authenticated:
        return frozenset()
    assert isinstance(user, User)
    return ROLE_CAPABILITIES.get(user.role, frozenset())


V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def requires(capability: Capability) -> Callable[[V], V]:
    """Refuse the view to anonymous users (redirect to login) and to users without `capability` (403)."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_capability(request.user, capability):
                raise PermissionDenied(capability.value)
            return view(request, *args, **kwargs)

        wrapper.banso_capability = capability  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
