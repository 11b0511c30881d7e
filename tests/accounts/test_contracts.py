"""Adding and editing contracts by hand, from the Account 360 and the API, and the rules they keep."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from banso.accounts.choices import ContractStatus
from banso.accounts.models import MANUAL_SOURCE, Account, Contract
from banso.accounts.services import create_contract, refresh_rollups, update_contract
from banso.core.choices import AuditAction, Role
from banso.core.models import AuditEntry

from ..core.factories import UserFactory
from .factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db

APRIL = datetime.date(2025, 4, 1)


def contract_fields(**overrides):
    fields = {"plan": "プロ", "mrr": 120_000, "start_date": APRIL, "renewal_date": datetime.date(2026, 4, 1)}
    fields.update(overrides)
    return fields


def send(client, method, url, data):
    return getattr(client, method)(url, json.dumps(data, default=str), content_type="application/json")


# --- Services ---------------------------------------------------------------------------------------


def test_adding_a_contract_updates_the_account_mrr():
    account = AccountFactory()
    ContractFactory(account=account, mrr=50_000)

    refresh_rollups([account.pk])

    create_contract(account, UserFactory(), **contract_fields(renewal_date=datetime.date(2099, 4, 1)))

    account.refresh_from_db()
    assert account.mrr == 170_000
    assert account.next_renewal_date == datetime.date(2099, 4, 1)


def test_a_new_contract_is_audited_with_every_field_and_marked_as_entered_by_hand():
    account = AccountFactory()
    actor = UserFactory()
    contract = create_contract(account, actor, via="api", **contract_fields())
    other = create_contract(account, actor, **contract_fields())

    assert contract.source == MANUAL_SOURCE and contract.external_id != other.external_id
    entry = AuditEntry.objects.get(object_id=str(contract.pk), object_type="accounts.contract")
    assert entry.action == AuditAction.CREATE and entry.via == "api" and entry.actor == actor
    assert entry.account_id == account.pk
    assert entry.changes["mrr"] == [None, 120_000]
    assert entry.changes["start_date"] == [None, "2025-04-01"]
    assert entry.changes["status"] == [None, "active"]


def test_contract_renewal_before_start_is_refused_naming_the_field():
    account = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        create_contract(account, None, **contract_fields(renewal_date=datetime.date(2025, 3, 31)))
    assert list(exc.value.message_dict) == ["renewal_date"]
    assert not Contract.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("mrr", [-1, 1.5, "1000", True, None])
def test_contract_mrr_must_be_a_non_negative_whole_number_of_yen(mrr):
    with pytest.raises(ValidationError) as exc:
        create_contract(AccountFactory(), None, **contract_fields(mrr=mrr))
    assert "mrr" in exc.value.message_dict


def test_a_contract_without_plan_or_start_is_refused_naming_both_fields():
    with pytest.raises(ValidationError) as exc:
        create_contract(AccountFactory(), None, plan="", mrr=0)
    assert {"plan", "start_date"} <= set(exc.value.message_dict)


def test_a_contract_end_before_its_start_is_refused():
    with pytest.raises(ValidationError) as exc:
        create_contract(AccountFactory(), None, **contract_fields(end_date=datetime.date(2025, 1, 1)))
    assert "end_date" in exc.value.message_dict


def test_a_churned_contract_needs_its_churn_date():
    contract = ContractFactory()
    with pytest.raises(ValidationError) as exc:
        update_contract(contract, None, status=ContractStatus.CHURNED)
    assert list(exc.value.message_dict) == ["churned_on"]
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.ACTIVE


def test_only_a_churned_contract_takes_a_churn_date():
    with pytest.raises(ValidationError) as exc:
        create_contract(AccountFactory(), None, **contract_fields(churned_on=datetime.date(2025, 9, 30)))
    assert "churned_on" in exc.value.message_dict


def test_churning_a_contract_takes_it_out_of_the_account_mrr_and_is_audited_before_and_after():
    account = AccountFactory()
    contract = create_contract(account, None, **contract_fields())
    actor = UserFactory()

    update_contract(
        contract, actor, status=ContractStatus.CHURNED, churned_on=datetime.date(2025, 9, 30), churn_reason="予算削減"
    )

    assert Account.objects.get(pk=account.pk).mrr == 0
    entry = AuditEntry.objects.filter(object_id=str(contract.pk), action=AuditAction.UPDATE).get()
    assert entry.actor == actor
    assert entry.changes == {
        "status": ["active", "churned"],
        "churned_on": [None, "2025-09-30"],
        "churn_reason": ["", "予算削減"],
    }


def test_a_contract_leaving_churned_loses_its_churn_date_and_reason():
    contract = ContractFactory(
        status=ContractStatus.CHURNED, churned_on=datetime.date(2025, 9, 30), churn_reason="予算削減", mrr=30_000
    )

    update_contract(contract, None, status=ContractStatus.ACTIVE)

    contract.refresh_from_db()
    assert contract.churned_on is None and contract.churn_reason == ""
    assert Account.objects.get(pk=contract.account_id).mrr == 30_000


def test_an_edit_that_changes_nothing_writes_no_entry():
    contract = ContractFactory(mrr=50_000)
    update_contract(contract, None, mrr=50_000)
    assert not AuditEntry.objects.exists()


def test_fields_owned_by_the_system_cannot_be_changed():
    with pytest.raises(ValidationError) as exc:
        update_contract(ContractFactory(), None, external_id="x", account=AccountFactory())
    assert {"external_id", "account"} <= set(exc.value.message_dict)


# --- Pages ------------------------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "plan": "プロ",
        "mrr": "120000",
        "start_date": "2025-04-01",
        "end_date": "",
        "renewal_date": "2026-04-01",
        "status": "active",
        "churned_on": "",
        "churn_reason": "",
    }
    data.update(overrides)
    return data


def test_adding_a_contract_from_the_360_updates_the_mrr_and_returns_to_it(client_as):
    account = AccountFactory()
    client = client_as(Role.CSM)
    url = reverse("accounts:contract_add", args=[account.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, form_data(auto_renew="on"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:detail", args=[account.pk])
    contract = Contract.objects.get(account=account)
    assert contract.auto_renew and contract.mrr == 120_000
    assert Account.objects.get(pk=account.pk).mrr == 120_000
    page = client.get(response["Location"])
    assert list(page.context["messages"])
    assert "¥120,000" in page.content.decode()


def test_the_contract_page_shows_the_renewal_error_on_its_field(client_as):
    account = AccountFactory()
    response = client_as(Role.CSM).post(
        reverse("accounts:contract_add", args=[account.pk]), form_data(renewal_date="2025-01-01")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["renewal_date"]
    assert not Contract.objects.exists()


def test_the_contract_page_refuses_a_negative_mrr(client_as):
    account = AccountFactory()
    response = client_as(Role.CSM).post(reverse("accounts:contract_add", args=[account.pk]), form_data(mrr="-5"))
    assert response.status_code == 200 and response.context["form"].errors["mrr"]


def test_churning_a_contract_on_the_page_without_a_date_names_the_churn_date(client_as):
    contract = ContractFactory()
    url = reverse("accounts:contract_edit", args=[contract.account_id, contract.pk])
    response = client_as(Role.CSM).post(url, form_data(status="churned"))
    assert response.status_code == 200, response.status_code
    assert "churned_on" in response.context["form"].errors, response.context["form"].errors


def test_editing_a_contract_records_only_the_changed_fields(client_as):
    contract = ContractFactory(
        plan="スタンダード", mrr=50_000, start_date=APRIL, renewal_date=datetime.date(2026, 4, 1)
    )
    url = reverse("accounts:contract_edit", args=[contract.account_id, contract.pk])
    client = client_as(Role.CSM)
    assert client.get(url).status_code == 200

    response = client.post(url, form_data(plan="スタンダード", mrr="80000"))

    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_id=str(contract.pk))
    assert entry.changes == {"mrr": [50_000, 80_000]} and entry.via == "ui"
    assert Account.objects.get(pk=contract.account_id).mrr == 80_000


def test_a_contract_of_another_account_is_not_found_under_this_one(client_as):
    contract = ContractFactory()
    url = reverse("accounts:contract_edit", args=[AccountFactory().pk, contract.pk])
    assert client_as(Role.CSM).get(url).status_code == 404


def test_the_360_shows_contract_buttons_to_editors_only(client_as):
    contract = ContractFactory()
    url = reverse("accounts:detail", args=[contract.account_id])
    add = reverse("accounts:contract_add", args=[contract.account_id])
    edit = reverse("accounts:contract_edit", args=[contract.account_id, contract.pk])
    editor_html = client_as(Role.OPS_MANAGER).get(url).content.decode()
    viewer_html = client_as(Role.SUPPORT_AGENT).get(url).content.decode()
    assert add in editor_html and edit in editor_html
    assert add not in viewer_html and edit not in viewer_html


@pytest.mark.parametrize("name", ["contract_add", "contract_edit"])
def test_a_viewer_gets_403_on_each_contract_page(client_as, name):
    contract = ContractFactory()
    args = [contract.account_id] if name == "contract_add" else [contract.account_id, contract.pk]
    url = reverse(f"accounts:{name}", args=args)
    client = client_as(Role.VIEWER)
    assert client.get(url).status_code == 403
    assert client.post(url, form_data()).status_code == 403
    assert Contract.objects.count() == 1 and not AuditEntry.objects.exists()


# --- API --------------------------------------------------------------------------------------------


def test_api_adds_a_contract_and_the_account_mrr_follows(api_as):
    account = AccountFactory()
    client = api_as(Role.CSM)
    response = send(client, "post", f"/api/accounts/{account.pk}/contracts", contract_fields())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mrr"] == 120_000 and body["status"] == "active"
    assert client.get(f"/api/accounts/{account.pk}").json()["mrr"] == 120_000
    assert AuditEntry.objects.get(object_id=str(body["id"])).via == "api"


def test_api_refuses_a_renewal_before_start_with_422_naming_the_field(api_as):
    account = AccountFactory()
    data = contract_fields(renewal_date="2025-01-01")
    response = send(api_as(Role.CSM), "post", f"/api/accounts/{account.pk}/contracts", data)
    assert response.status_code == 422
    assert "renewal_date" in response.json()["detail"]
    assert not Contract.objects.exists()


def test_api_patches_a_contract_and_refuses_nulls_and_bad_values(api_as):
    contract = ContractFactory(mrr=50_000)
    url = f"/api/accounts/{contract.account_id}/contracts/{contract.pk}"
    client = api_as(Role.CSM)

    response = send(client, "patch", url, {"mrr": 60_000, "churn_reason": None})
    assert response.status_code == 200, response.content
    assert response.json()["mrr"] == 60_000
    assert Account.objects.get(pk=contract.account_id).mrr == 60_000

    assert "mrr" in send(client, "patch", url, {"mrr": None}).json()["detail"]
    negative = send(client, "patch", url, {"mrr": -1})
    assert negative.status_code == 422 and "mrr" in negative.json()["detail"]
    churned = send(client, "patch", url, {"status": "churned"})
    assert churned.status_code == 422 and "churned_on" in churned.json()["detail"]
    assert send(client, "patch", f"/api/accounts/{AccountFactory().pk}/contracts/{contract.pk}", {}).status_code == 404


def test_a_viewer_gets_403_on_each_contract_api_call(api_as):
    contract = ContractFactory()
    base = f"/api/accounts/{contract.account_id}/contracts"
    client = api_as(Role.VIEWER)
    assert send(client, "post", base, contract_fields()).status_code == 403
    assert send(client, "patch", f"{base}/{contract.pk}", {"mrr": 1}).status_code == 403
    assert Contract.objects.get(pk=contract.pk).mrr == 50_000 and not AuditEntry.objects.exists()
