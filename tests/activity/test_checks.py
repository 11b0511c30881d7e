"""Bad input is refused whole, with one (row, column, reason) per problem; nothing is written."""

import pytest

from banso.accounts.models import Account, Contact, Contract
from banso.activity.importing import ImportRefused, import_bytes

from .factories import AccountFactory
from .helpers import csv_bytes

pytestmark = pytest.mark.django_db

CONTRACT_HEADER = "external_id,account,plan,mrr,start_date,status,churned_on"


def refused(entity: str, *lines: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ImportRefused) as caught:
        import_bytes(entity, "crm", csv_bytes(*lines), "f.csv")
    for error in caught.value.errors:
        assert error["reason"]
    return [(e["row"], e["column"]) for e in caught.value.errors]


def test_missing_required_column_is_a_file_error_on_the_header():
    assert refused("accounts", "external_id,kind", "A1,customer") == [(1, "name")]


def test_unknown_column_is_a_file_error_naming_it():
    assert refused("accounts", "external_id,name,colour", "A1,伴走,red") == [(1, "colour")]


def test_column_given_twice_is_refused():
    assert refused("accounts", "external_id,name,name", "A1,a,b") == [(1, "name")]


def test_duplicate_ids_in_the_file_point_at_the_repeated_row():
    errors = refused("accounts", "external_id,name", "A1,a", "A2,b", "A1,c")
    assert errors == [(4, "external_id")]


def test_duplicate_id_reason_names_the_first_row():
    with pytest.raises(ImportRefused) as caught:
        import_bytes("accounts", "crm", csv_bytes("external_id,name", "A1,a", "A1,c"), "f.csv")
    assert "2" in caught.value.errors[0]["reason"]


def test_bad_dates_are_reported_per_row():
    AccountFactory(external_id="A1")
    errors = refused(
        "contracts",
        CONTRACT_HEADER,
        "C1,A1,Pro,1000,2024-02-30,,",
        "C2,A1,Pro,1000,next monday,,",
        "C3,A1,Pro,1000,2024/4/1,,",
    )
    assert errors == [(2, "start_date"), (3, "start_date")]


def test_negative_and_fractional_yen_are_refused():
    AccountFactory(external_id="A1")
    errors = refused(
        "contracts",
        CONTRACT_HEADER,
        "C1,A1,Pro,-100,2024-04-01,,",
        "C2,A1,Pro,100.5,2024-04-01,,",
        'C3,A1,Pro,"¥1,200",2024-04-01,,',
        "C4,A1,Pro,千円,2024-04-01,,",
    )
    assert errors == [(2, "mrr"), (3, "mrr"), (5, "mrr")]


def test_unknown_reference_is_refused():
    AccountFactory(external_id="A1", source="other")  # same id, another source: not a match
    errors = refused("contacts", "external_id,account,name", "P1,A1,山田", "P2,A9,佐藤")
    assert errors == [(2, "account"), (3, "account")]


def test_missing_required_value_and_bad_choice_are_reported():
    errors = refused("accounts", "external_id,name,kind", "A1,,customer", "A2,b,partner")
    assert errors == [(2, "name"), (3, "kind")]


def test_churned_contract_needs_its_churn_date():
    AccountFactory(external_id="A1")
    assert refused("contracts", CONTRACT_HEADER, "C1,A1,Pro,1000,2024-04-01,churned,") == [(2, "churned_on")]


def test_one_bad_row_writes_nothing():
    AccountFactory(external_id="A1")
    lines = [CONTRACT_HEADER] + [f"C{i},A1,Pro,1000,2024-04-01,active," for i in range(20)]
    lines.append("C99,A1,Pro,1000,2024-13-01,active,")
    with pytest.raises(ImportRefused):
        import_bytes("contracts", "crm", csv_bytes(*lines), "f.csv")
    assert not Contract.objects.exists()


def test_errors_are_ordered_by_row_then_column():
    errors = refused("contacts", "external_id,account,name,email", "P1,A9,,x", "P1,A9,山田,a@b.jp")
    assert errors == [(2, "account"), (2, "name"), (2, "email"), (3, "external_id"), (3, "account")]
    assert not Contact.objects.exists() and not Account.objects.exists()
