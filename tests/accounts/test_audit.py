import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from banso.accounts.choices import TouchTier
from banso.accounts.models import Contact
from banso.accounts.services import create_contact, mark_contact_left, update_account, update_contact
from banso.core.choices import AuditAction, Role
from banso.core.models import AuditEntry

from ..core.factories import UserFactory
from .factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_update_account_records_who_and_each_field_before_and_after():
    actor = UserFactory(role=Role.CSM)
    new_owner = UserFactory(role=Role.CSM)
    account = AccountFactory(tier=TouchTier.LOW, industry="")

    update_account(account, actor, tier=TouchTier.HIGH, owner=new_owner, industry="製造")

    entry = AuditEntry.objects.get(account_id=account.pk)
    assert entry.actor == actor
    assert entry.action == AuditAction.UPDATE
    assert entry.via == "ui"
    assert entry.changes == {"tier": ["low", "high"], "owner": [None, new_owner.pk], "industry": ["", "製造"]}
    account.refresh_from_db()
    assert account.tier == TouchTier.HIGH
    assert account.owner == new_owner


def test_an_edit_that_changes_nothing_writes_no_entry():
    account = AccountFactory(industry="小売")
    update_account(account, UserFactory(), industry="小売")
    assert not AuditEntry.objects.exists()


def test_invalid_values_are_refused_naming_the_field_and_nothing_is_written():
    account = AccountFactory(name="元の名前")
    with pytest.raises(ValidationError) as exc:
        update_account(account, UserFactory(), name="新しい名前", tier="platinum")
    assert "tier" in exc.value.message_dict
    account.refresh_from_db()
    assert account.name == "元の名前"
    assert not AuditEntry.objects.exists()
    with pytest.raises(ValidationError):
        update_account(account, UserFactory(), mrr=1)  # a roll-up, not editable


def test_contact_changes_are_audited_and_a_new_primary_demotes_the_old_one():
    account = AccountFactory()
    actor = UserFactory()
    first = create_contact(account, actor, name="一人目", is_primary=True)
    second = create_contact(account, actor, name="二人目")
    update_contact(second, actor, is_primary=True)
    first.refresh_from_db()
    assert not first.is_primary
    actions = list(AuditEntry.objects.filter(account_id=account.pk).values_list("object_repr", "action"))
    assert ("一人目", "create") in actions and ("二人目", "update") in actions and ("一人目", "update") in actions


def test_mark_contact_left_hands_over_to_the_successor():
    account = AccountFactory()
    actor = UserFactory()
    leaving = ContactFactory(account=account, is_primary=True)
    successor = ContactFactory(account=account)

    mark_contact_left(leaving, successor, datetime.date(2025, 9, 30), actor)

    leaving.refresh_from_db()
    successor.refresh_from_db()
    assert leaving.left_on == datetime.date(2025, 9, 30)
    assert leaving.successor == successor
    assert not leaving.is_primary and successor.is_primary
    assert leaving.current == successor
    entry = AuditEntry.objects.filter(object_id=str(leaving.pk)).latest("id")
    assert entry.changes["successor"] == [None, successor.pk]
    assert entry.changes["left_on"] == [None, "2025-09-30"]


def test_a_successor_from_another_account_or_a_loop_is_refused():
    account = AccountFactory()
    a = ContactFactory(account=account)
    b = ContactFactory(account=account, successor=a)
    with pytest.raises(ValidationError):
        mark_contact_left(a, ContactFactory(), datetime.date(2025, 1, 1), None)
    with pytest.raises(ValidationError):
        mark_contact_left(a, b, datetime.date(2025, 1, 1), None)  # b hands back to a
    assert Contact.objects.get(pk=a.pk).left_on is None


def test_edit_page_saves_and_audits(client_as, user_with_role):
    csm = user_with_role(Role.CSM)
    client = client_as(Role.CSM)
    client.force_login(csm)
    account = AccountFactory(name="旧社名", name_kana="きゅう")
    data = {
        "name": "新社名",
        "name_kana": "しん",
        "kind": account.kind,
        "owner": "",
        "tier": "high",
        "lifecycle_stage": account.lifecycle_stage,
        "industry": "",
        "attributes": '{"区分": "A"}',
    }
    response = client.post(reverse("accounts:edit", args=[account.pk]), data)
    assert response.status_code == 302
    entry = AuditEntry.objects.get(account_id=account.pk)
    assert entry.actor == csm
    assert entry.changes["name"] == ["旧社名", "新社名"]
    assert entry.changes["attributes"] == [{}, {"区分": "A"}]
    account.refresh_from_db()
    assert account.search_text == "新社名しん"


def test_edit_page_shows_field_errors(client_as):
    account = AccountFactory()
    response = client_as(Role.CSM).post(reverse("accounts:edit", args=[account.pk]), {"name": "", "attributes": "[1]"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert response.context["form"].errors["attributes"]
    assert not AuditEntry.objects.exists()


def test_viewer_cannot_edit(client_as):
    account = AccountFactory()
    client = client_as(Role.VIEWER)
    assert client.get(reverse("accounts:edit", args=[account.pk])).status_code == 403
    assert client.post(reverse("accounts:edit", args=[account.pk]), {"name": "x"}).status_code == 403


def test_audit_page_shows_who_when_and_before_after(client_as):
    actor = UserFactory(display_name="監査 太郎")
    account = AccountFactory(tier=TouchTier.LOW)
    update_account(account, actor, tier=TouchTier.HIGH)
    response = client_as(Role.CSM).get(reverse("accounts:audit", args=[account.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "監査 太郎" in html
    # Choice values are shown as their labels (Japanese UI).
    assert response.context["entries"][0][1][0].before != "low"
    assert client_as(Role.VIEWER).get(reverse("accounts:audit", args=[account.pk])).status_code == 403
