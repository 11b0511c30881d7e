"""Imports in the JSON API."""

from django.http import HttpRequest
from ninja import Router, Schema

from banso.api.auth import role
from banso.core.permissions import Capability

from .models import ImportJob

router = Router(tags=["imports"])


class ImportJobOut(Schema):
    id: int
    entity: str
    status: str


@router.get("/", response=list[ImportJobOut], auth=role(Capability.IMPORT_DATA))
def list_imports(request: HttpRequest) -> list[ImportJob]:
    return list(ImportJob.objects.all()[:100])
