"""Adding, editing and marking contacts as left, from the Account 360 and the API."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from banso.accounts.choices import ContactRole
from banso.accounts.models import MANUAL_SOURCE, Contact
from banso.accounts.services import create_contact, hand_over_to_new_contact
from banso.core.choices import AuditAction, Role
from banso.core.models import AuditEntry

from ..core.factories import UserFactory
from .factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def post_json(client, url, data, method="post"):
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


# --- Services ---------------------------------------------------------------------------------------


def test_a_hand_entered_contact_gets_the_manual_source_and_a_unique_external_id():
    account = AccountFactory()
    first = create_contact(account, None, name="一人目")
    second = create_contact(account, None, name="二人目")
    assert first.source == second.source == MANUAL_SOURCE
    assert first.external_id and first.external_id != second.external_id


def test_handing_over_to_a_new_contact_creates_them_with_the_leavers_role_and_makes_them_primary():
    account = AccountFactory()
    actor = UserFactory()
    leaving = ContactFactory(account=account, is_primary=True, role=ContactRole.BILLING)

    successor = hand_over_to_new_contact(
        leaving, datetime.date(2025, 9, 30), actor, name="後任 花子", email="hanako@example.jp"
    )

    leaving.refresh_from_db()
    assert leaving.successor == successor and leaving.left_on == datetime.date(2025, 9, 30)
    assert successor.account == account and successor.role == ContactRole.BILLING
    assert successor.is_primary and not leaving.is_primary
    created = AuditEntry.objects.get(object_id=str(successor.pk), action=AuditAction.CREATE)
    assert created.changes["name"] == [None, "後任 花子"] and created.actor == actor


def test_a_refused_hand_over_creates_no_successor():
    account = AccountFactory()
    leaving = ContactFactory(account=account)
    with pytest.raises(ValidationError) as exc:
        hand_over_to_new_contact(leaving, datetime.date(2025, 9, 30), None, name="後任", email="not-an-email")
    assert "email" in exc.value.message_dict
    assert list(Contact.objects.filter(account=account)) == [leaving]
    assert not AuditEntry.objects.exists()


# --- Pages ------------------------------------------------------------------------------------------


def contact_data(**overrides):
    data = {
        "name": "山田 太郎",
        "name_kana": "やまだ たろう",
        "email": "yamada@example.jp",
        "phone": "",
        "title": "部長",
    }
    data.update(role=ContactRole.DECISION_MAKER, **overrides)
    return data


def test_adding_a_contact_from_the_360_saves_audits_and_returns_with_a_message(client_as):
    account = AccountFactory()
    client = client_as(Role.CSM)

    response = client.post(reverse("accounts:contact_add", args=[account.pk]), contact_data(is_primary="on"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:detail", args=[account.pk])
    contact = Contact.objects.get(account=account)
    assert contact.name == "山田 太郎" and contact.is_primary and contact.role == ContactRole.DECISION_MAKER
    entry = AuditEntry.objects.get(object_id=str(contact.pk))
    assert entry.action == AuditAction.CREATE and entry.via == "ui"
    assert entry.changes["title"] == [None, "部長"]
    page = client.get(response["Location"])
    assert [str(m) for m in page.context["messages"]]


def test_a_contact_without_a_name_is_refused_on_the_page(client_as):
    account = AccountFactory()
    response = client_as(Role.CSM).post(reverse("accounts:contact_add", args=[account.pk]), contact_data(name=""))
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not Contact.objects.exists()


def test_editing_a_contact_records_each_changed_field_before_and_after(client_as):
    contact = ContactFactory(title="課長", email="old@example.jp", role=ContactRole.USER)
    url = reverse("accounts:contact_edit", args=[contact.account_id, contact.pk])
    client = client_as(Role.CSM)
    assert client.get(url).status_code == 200

    data = {
        "name": contact.name,
        "name_kana": contact.name_kana,
        "email": "new@example.jp",
        "phone": "",
        "title": "部長",
        "role": ContactRole.USER,
    }
    response = client.post(url, data)

    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_id=str(contact.pk))
    assert entry.changes == {"email": ["old@example.jp", "new@example.jp"], "title": ["課長", "部長"]}


def test_a_contact_of_another_account_is_not_found_under_this_one(client_as):
    contact = ContactFactory()
    other = AccountFactory()
    client = client_as(Role.CSM)
    assert client.get(reverse("accounts:contact_edit", args=[other.pk, contact.pk])).status_code == 404
    assert client.get(reverse("accounts:contact_left", args=[other.pk, contact.pk])).status_code == 404


def test_marking_the_primary_contact_as_left_makes_the_successor_primary(client_as):
    account = AccountFactory()
    leaving = ContactFactory(account=account, is_primary=True)
    successor = ContactFactory(account=account)
    url = reverse("accounts:contact_left", args=[account.pk, leaving.pk])

    response = client_as(Role.CSM).post(url, {"left_on": "2025-09-30", "successor": successor.pk})

    assert response.status_code == 302
    leaving.refresh_from_db()
    successor.refresh_from_db()
    assert leaving.left_on == datetime.date(2025, 9, 30) and leaving.successor == successor
    assert successor.is_primary and not leaving.is_primary


def test_the_left_page_offers_only_the_accounts_other_current_contacts(client_as):
    account = AccountFactory()
    leaving = ContactFactory(account=account)
    colleague = ContactFactory(account=account)
    gone = ContactFactory(account=account, left_on=datetime.date(2024, 1, 1))
    stranger = ContactFactory()

    response = client_as(Role.CSM).get(reverse("accounts:contact_left", args=[account.pk, leaving.pk]))

    offered = set(response.context["form"].fields["successor"].queryset)
    assert offered == {colleague}
    assert not offered & {leaving, gone, stranger}
    assert response.context["form"]["left_on"].value() == timezone.localdate()


def test_marking_as_left_with_a_new_successor_adds_them_to_the_account(client_as):
    account = AccountFactory()
    leaving = ContactFactory(account=account, is_primary=True)
    url = reverse("accounts:contact_left", args=[account.pk, leaving.pk])

    response = client_as(Role.CSM).post(
        url, {"left_on": "2025-09-30", "new_successor_name": "後任 花子", "new_successor_email": "hanako@example.jp"}
    )

    assert response.status_code == 302
    successor = Contact.objects.get(account=account, name="後任 花子")
    leaving.refresh_from_db()
    assert leaving.successor == successor and successor.is_primary and successor.email == "hanako@example.jp"


def test_choosing_a_successor_and_adding_a_new_one_at_once_is_refused(client_as):
    account = AccountFactory()
    leaving = ContactFactory(account=account)
    colleague = ContactFactory(account=account)
    url = reverse("accounts:contact_left", args=[account.pk, leaving.pk])

    response = client_as(Role.CSM).post(
        url, {"left_on": "2025-09-30", "successor": colleague.pk, "new_successor_name": "後任"}
    )

    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert Contact.objects.get(pk=leaving.pk).left_on is None
    assert Contact.objects.filter(account=account).count() == 2


def test_a_bad_new_successor_email_is_shown_on_the_form_field(client_as):
    leaving = ContactFactory()
    url = reverse("accounts:contact_left", args=[leaving.account_id, leaving.pk])
    response = client_as(Role.CSM).post(
        url, {"left_on": "2025-09-30", "new_successor_name": "後任", "new_successor_email": "nope"}
    )
    assert response.status_code == 200 and response.context["form"].errors["new_successor_email"]
    assert Contact.objects.get(pk=leaving.pk).left_on is None


def test_the_360_shows_contact_buttons_to_editors_only(client_as):
    contact = ContactFactory()
    url = reverse("accounts:detail", args=[contact.account_id])
    add = reverse("accounts:contact_add", args=[contact.account_id])
    left = reverse("accounts:contact_left", args=[contact.account_id, contact.pk])
    editor_html = client_as(Role.CSM).get(url).content.decode()
    viewer_html = client_as(Role.VIEWER).get(url).content.decode()
    assert add in editor_html and left in editor_html
    assert add not in viewer_html and left not in viewer_html


@pytest.mark.parametrize("name", ["contact_add", "contact_edit", "contact_left"])
def test_a_viewer_gets_403_on_each_contact_page(client_as, name):
    contact = ContactFactory()
    args = [contact.account_id] if name == "contact_add" else [contact.account_id, contact.pk]
    url = reverse(f"accounts:{name}", args=args)
    client = client_as(Role.VIEWER)
    assert client.get(url).status_code == 403
    assert client.post(url, contact_data(left_on="2025-09-30")).status_code == 403
    assert not AuditEntry.objects.exists()


# --- API --------------------------------------------------------------------------------------------


def test_api_adds_a_contact_via_api(api_as):
    account = AccountFactory()
    client = api_as(Role.CSM)
    response = post_json(client, f"/api/accounts/{account.pk}/contacts", {"name": "API 太郎", "role": "billing"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "API 太郎" and body["role"] == "billing"
    entry = AuditEntry.objects.get(object_id=str(body["id"]))
    assert entry.via == "api" and entry.actor == client.user


def test_api_refuses_a_bad_contact_naming_the_field(api_as):
    account = AccountFactory()
    response = post_json(api_as(Role.CSM), f"/api/accounts/{account.pk}/contacts", {"name": "x", "email": "nope"})
    assert response.status_code == 422
    assert "email" in response.json()["detail"]


def test_api_patches_a_contact_and_refuses_a_null_name(api_as):
    contact = ContactFactory(title="課長", phone="03-0000-0000")
    url = f"/api/accounts/{contact.account_id}/contacts/{contact.pk}"
    client = api_as(Role.CSM)

    response = post_json(client, url, {"title": "部長", "phone": None}, method="patch")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "部長" and response.json()["phone"] == ""

    refused = post_json(client, url, {"name": None}, method="patch")
    assert refused.status_code == 422 and "name" in refused.json()["detail"]
    other = AccountFactory()
    assert post_json(client, f"/api/accounts/{other.pk}/contacts/{contact.pk}", {}, "patch").status_code == 404


def test_api_marks_a_contact_left_with_a_successor(api_as):
    account = AccountFactory()
    leaving = ContactFactory(account=account, is_primary=True)
    successor = ContactFactory(account=account)
    url = f"/api/accounts/{account.pk}/contacts/{leaving.pk}/left"

    response = post_json(api_as(Role.CSM), url, {"successor_id": successor.pk, "left_on": "2025-09-30"})

    assert response.status_code == 200, response.content
    assert response.json()["successor_id"] == successor.pk and response.json()["left_on"] == "2025-09-30"
    assert Contact.objects.get(pk=successor.pk).is_primary
    assert AuditEntry.objects.filter(via="api", object_id=str(leaving.pk)).exists()


def test_api_marks_a_contact_left_with_a_new_successor_defaulting_to_today(api_as):
    leaving = ContactFactory()
    url = f"/api/accounts/{leaving.account_id}/contacts/{leaving.pk}/left"
    response = post_json(api_as(Role.CSM), url, {"new_successor": {"name": "新人", "email": "new@example.jp"}})
    assert response.status_code == 200, response.content
    assert response.json()["left_on"] == timezone.localdate().isoformat()
    assert Contact.objects.get(pk=response.json()["successor_id"]).name == "新人"


def test_api_refuses_a_successor_from_another_account_naming_the_field(api_as):
    leaving = ContactFactory()
    url = f"/api/accounts/{leaving.account_id}/contacts/{leaving.pk}/left"
    client = api_as(Role.CSM)
    response = post_json(client, url, {"successor_id": ContactFactory().pk})
    assert response.status_code == 422 and "successor" in response.json()["detail"]
    missing = post_json(client, url, {"successor_id": 999999})
    assert missing.status_code == 422 and "successor" in missing.json()["detail"]
    assert Contact.objects.get(pk=leaving.pk).left_on is None


def test_a_viewer_gets_403_on_each_contact_api_call(api_as):
    contact = ContactFactory()
    base = f"/api/accounts/{contact.account_id}/contacts"
    client = api_as(Role.VIEWER)
    assert post_json(client, base, {"name": "x"}).status_code == 403
    assert post_json(client, f"{base}/{contact.pk}", {"name": "x"}, method="patch").status_code == 403
    assert post_json(client, f"{base}/{contact.pk}/left", {}).status_code == 403
    assert not AuditEntry.objects.exists()
