"""Account pages: the list, the Account 360 with its timeline, editing accounts, contacts and contracts,
and the audit trail."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.middleware import HtmxDetails

from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires
from banso.core.xlsx import XLSX

from . import exports, services
from .forms import AccountFilterForm, AccountForm, ContactForm, ContactLeftForm, ContractForm
from .models import Account, Contact, Contract
from .panels import panels_for

# A search lists at most this many matches; past it the user is asked to narrow the search.
SEARCH_CAP = 1000


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@dataclass(frozen=True)
class Column:
    label: str
    url: str = ""  # set for sortable columns: the list in this column's order (reversed if already so)
    state: str = ""  # ascending / descending, for aria-sort and the arrow
    numeric: bool = False


def _columns(request: HttpRequest, sort: str) -> list[Column]:
    def sortable(label: str, key: str, numeric: bool = False) -> Column:
        params = request.GET.copy()
        params.pop("page", None)
        params["sort"] = f"-{key}" if sort == key else key
        state = "ascending" if sort == key else "descending" if sort == f"-{key}" else ""
        return Column(label, f"?{params.urlencode()}", state, numeric)

    return [
        sortable(_("Name"), "name"),
        Column(_("Kind")),
        Column(_("Owner CSM")),
        Column(_("Touch tier")),
        Column(_("Stage")),
        sortable(_("MRR"), "mrr", numeric=True),
        sortable(_("Next renewal"), "renewal"),
        sortable(_("Updated"), "updated"),
    ]


@requires(Capability.VIEW_ACCOUNTS)
def account_list(request: HtmxHttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else services.AccountFilters()
    accounts = IdFirstList(services.account_queryset(filters), search_cap=SEARCH_CAP if filters.q else None)
    paginator: Paginator[Account] = Paginator(accounts, services.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "filters": filters,
        "sort": filters.sort,
        "columns": _columns(request, filters.sort),
        "search_capped": accounts.capped,
        "search_cap": SEARCH_CAP,
    }
    template = "accounts/_table.html" if request.htmx else "accounts/list.html"
    return render(request, template, context)


@requires(Capability.VIEW_ACCOUNTS)
def account_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The filtered list as CSV (streamed) or XLSX, named with today's date."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    form = AccountFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else services.AccountFilters()
    stamp = timezone.localdate().strftime("%Y%m%d")
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            exports.csv_chunks(filters), content_type="text/csv; charset=utf-8"
        )
    else:
        try:
            content = exports.xlsx_bytes(filters)
        except exports.TooManyRows:
            messages.error(
                request,
                _("More than %(limit)s accounts: narrow the filters or download CSV.")
                % {"limit": f"{exports.XLSX_MAX_ROWS:,}"},
            )
            return redirect(f"{reverse('accounts:list')}?{request.GET.urlencode()}")
        response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="accounts-{stamp}.{fmt}"'
    return response


def _get_360(pk: int) -> tuple[Account, list[Any], list[Any]]:
    try:
        return services.account_360(pk)
    except Account.DoesNotExist as exc:
        raise Http404 from exc


@requires(Capability.VIEW_ACCOUNTS)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account, contacts, contracts = _get_360(pk)
    page = services.timeline(account, contacts=contacts, contracts=contracts)
    chains = services.successor_chains(contacts)
    context = {
        "account": account,
        "contact_rows": [(c, chains.get(c.pk, [])) for c in contacts],
        "contracts": contracts,
        "timeline": page,
        "can_edit": has_capability(request.user, Capability.EDIT_ACCOUNTS),
        "can_audit": has_capability(request.user, Capability.VIEW_AUDIT),
        "panels": panels_for(request.user, account),
    }
    return render(request, "accounts/detail.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def account_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The next page of the timeline, as the partial the 360 page's "more" button swaps in."""
    account = get_object_or_404(Account, pk=pk)
    try:
        page = services.timeline(account, before=request.GET.get("before") or None)
    except ValueError:
        return HttpResponseBadRequest(_("Invalid timeline position."))
    return render(request, "accounts/_timeline.html", {"account": account, "timeline": page})


@requires(Capability.EDIT_ACCOUNTS)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=pk)
    if request.method == "POST":
        form = AccountForm(request.POST, instance=Account.objects.get(pk=pk))
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                services.update_account(account, _actor(request), via="ui", **changes)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The account was saved."))
                return redirect("accounts:detail", pk=pk)
    else:
        form = AccountForm(instance=account)
    return render(request, "accounts/edit.html", {"account": account, "form": form})


@requires(Capability.VIEW_AUDIT)
def account_audit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.only("id", "name", "name_kana"), pk=pk)
    return render(request, "accounts/audit.html", {"account": account, "entries": services.account_audit(pk)})


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _record_form(request: HttpRequest, account: Account, form: Any, heading: str, **extra: Any) -> HttpResponse:
    context = {"account": account, "form": form, "heading": heading, **extra}
    return render(request, "accounts/record_form.html", context)


def _back_to_360(request: HttpRequest, account: Account, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("accounts:detail", pk=account.pk)


# --- Contacts ---------------------------------------------------------------------------------------


@requires(Capability.EDIT_ACCOUNTS)
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_contact(account, _actor(request), via="ui", **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _back_to_360(request, account, _("The contact was added."))
    return _record_form(request, account, form, _("Add contact"))


@requires(Capability.EDIT_ACCOUNTS)
def contact_edit(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=contact_id, account_id=pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_contact(contact, _actor(request), via="ui", **changes)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _back_to_360(request, contact.account, _("The contact was saved."))
    heading = _("Edit contact: %(name)s") % {"name": contact.name}
    return _record_form(request, contact.account, form, heading)


@requires(Capability.EDIT_ACCOUNTS)
def contact_left(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=contact_id, account_id=pk)
    form = ContactLeftForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["new_successor_name"]:
                services.hand_over_to_new_contact(
                    contact,
                    data["left_on"],
                    _actor(request),
                    via="ui",
                    name=data["new_successor_name"],
                    email=data["new_successor_email"],
                )
            else:
                services.mark_contact_left(contact, data["successor"], data["left_on"], _actor(request), via="ui")
        except ValidationError as exc:
            # A new successor is checked by the contact rules, whose field names differ from the form's.
            _add_errors(form, exc, {"name": "new_successor_name", "email": "new_successor_email"})
        else:
            message = _("%(name)s was recorded as having left.") % {"name": contact.name}
            return _back_to_360(request, contact.account, message)
    heading = _("Mark as left: %(name)s") % {"name": contact.name}
    intro = _(
        "The contact stays on file for the record. If they were the primary contact, their successor becomes primary."
    )
    return _record_form(request, contact.account, form, heading, intro=intro, submit_label=_("Mark as left"))


def _add_errors(form: Any, exc: ValidationError, renamed: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: on the field it names when the form has one, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        target = (renamed or {}).get(name, name)
        form.add_error(target if target in form.fields else None, errors)


# --- Contracts --------------------------------------------------------------------------------------


@requires(Capability.EDIT_ACCOUNTS)
def contract_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = ContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_contract(account, _actor(request), via="ui", **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _back_to_360(request, account, _("The contract was added."))
    return _record_form(request, account, form, _("Add contract"))


@requires(Capability.EDIT_ACCOUNTS)
def contract_edit(request: HttpRequest, pk: int, contract_id: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.select_related("account"), pk=contract_id, account_id=pk)
    form = ContractForm(request.POST or None, instance=contract)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_contract(contract, _actor(request), via="ui", **changes)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _back_to_360(request, contract.account, _("The contract was saved."))
    heading = _("Edit contract: %(plan)s") % {"plan": contract.plan}
    return _record_form(request, contract.account, form, heading)
