"""Records are upserted by (source, external id): created, updated when changed, untouched otherwise."""

import datetime

import pytest

from banso.accounts.models import Account, Contact, Contract, EndUser
from banso.activity.importing import import_bytes, import_records
from banso.core.models import AuditEntry

from .factories import AccountFactory
from .helpers import csv_bytes

pytestmark = pytest.mark.django_db

ACCOUNTS = csv_bytes(
    "external_id,name,name_kana,kind,tier,attributes",
    'A1,株式会社伴走,バンソウ,customer,high,"{""plan"": ""pro""}"',
    "A2,アイウ商事,アイウショウジ,merchant,,",
)


def test_import_creates_accounts_with_search_text_and_audit_entries():
    result = import_bytes("accounts", "crm", ACCOUNTS, "a.csv")
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    a1 = Account.objects.get(source="crm", external_id="A1")
    assert a1.attributes == {"plan": "pro"} and a1.tier == "high"
    assert a1.search_text == "株式会社伴走ばんそう"
    assert Account.objects.get(external_id="A2").tier == "low"  # empty cell → the field's default
    entries = AuditEntry.objects.filter(via="import", action="create")
    assert entries.count() == 2
    assert entries.get(object_id=str(a1.pk)).account_id == a1.pk


def test_reimporting_same_file_changes_nothing():
    import_bytes("accounts", "crm", ACCOUNTS, "a.csv")
    before = list(Account.objects.values_list("pk", "updated_at", "search_text"))
    audit_before = AuditEntry.objects.count()
    result = import_bytes("accounts", "crm", ACCOUNTS, "a.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(Account.objects.values_list("pk", "updated_at", "search_text")) == before
    assert AuditEntry.objects.count() == audit_before


def test_changed_row_is_updated_and_audited_with_the_change():
    import_bytes("accounts", "crm", ACCOUNTS, "a.csv")
    changed = csv_bytes("external_id,name", "A1,株式会社伴走ホールディングス", "A2,アイウ商事")
    result = import_bytes("accounts", "crm", changed, "a.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    a1 = Account.objects.get(external_id="A1")
    assert a1.name == "株式会社伴走ホールディングス"
    assert a1.tier == "high"  # a column the file does not carry is left as it was
    assert "ほーるでぃんぐす" in a1.search_text
    entry = AuditEntry.objects.get(action="update", via="import")
    assert entry.changes == {"name": ["株式会社伴走", "株式会社伴走ホールディングス"]}


def test_same_external_id_in_another_source_is_another_record():
    import_bytes("accounts", "crm", ACCOUNTS, "a.csv")
    import_bytes("accounts", "pos", ACCOUNTS, "a.csv")
    assert Account.objects.count() == 4


def test_contracts_refresh_the_account_rollups():
    account = AccountFactory(external_id="A1")
    renewal = (datetime.date.today() + datetime.timedelta(days=40)).isoformat()
    data = csv_bytes(
        "external_id,account,plan,mrr,start_date,renewal_date,status,churned_on",
        f'C1,A1,Pro,"12,000",2024-04-01,{renewal},active,',
        "C2,A1,Old,5000,2023-04-01,,churned,2024-03-31",
    )
    assert import_bytes("contracts", "crm", data, "c.csv").created == 2
    account.refresh_from_db()
    assert account.mrr == 12000
    assert account.next_renewal_date.isoformat() == renewal


def test_contact_successor_may_point_at_a_contact_in_the_same_file():
    AccountFactory(external_id="A1")
    data = csv_bytes(
        "external_id,account,name,email,left_on,successor,is_primary",
        "P1,A1,山田,yamada@example.jp,2024-03-31,P2,no",
        "P2,A1,佐藤,sato@example.jp,,,yes",
    )
    assert import_bytes("contacts", "crm", data, "p.csv").created == 2
    p1 = Contact.objects.get(external_id="P1")
    assert p1.successor == Contact.objects.get(external_id="P2")
    assert p1.current.name == "佐藤"
    again = import_bytes("contacts", "crm", data, "p.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    create = AuditEntry.objects.get(object_type="accounts.contact", object_id=str(p1.pk))
    assert create.changes["successor"] == [None, p1.successor_id]


def test_end_users_reference_accounts_optionally():
    AccountFactory(external_id="A1")
    result = import_records(
        "end_users",
        "crm",
        [
            {"external_id": "U1", "kind": "booker", "name": "会員1", "account": "A1", "attributes": {"rank": 3}},
            {"external_id": "U2", "email": "u2@example.jp"},
        ],
    )
    assert result.created == 2
    u1 = EndUser.objects.get(external_id="U1")
    assert (u1.kind, u1.account.external_id, u1.attributes) == ("booker", "A1", {"rank": 3})
    assert EndUser.objects.get(external_id="U2").account is None


def test_contract_fields_are_typed():
    AccountFactory(external_id="A1")
    import_bytes(
        "contracts",
        "crm",
        csv_bytes("external_id,account,plan,mrr,start_date,auto_renew", "C1,A1,Pro,１２０００円,2024/4/1,はい"),
        "c.csv",
    )
    contract = Contract.objects.get()
    assert (contract.mrr, contract.start_date, contract.auto_renew) == (12000, datetime.date(2024, 4, 1), True)
