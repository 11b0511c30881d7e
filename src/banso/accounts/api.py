"""Accounts in the JSON API."""

from django.http import HttpRequest
from ninja import Router, Schema

from banso.api.auth import role
from banso.core.permissions import Capability

from .models import Account

router = Router(tags=["accounts"])


class AccountOut(Schema):
    id: int
    name: str
    name_kana: str
    kind: str


@router.get("/", response=list[AccountOut], auth=role(Capability.VIEW_ACCOUNTS))
def list_accounts(request: HttpRequest) -> list[Account]:
    return list(Account.objects.all()[:100])
