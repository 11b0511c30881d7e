"""What every router's refusals look like: HTTP 422 with a list of {field, message}, the field named as the
request spells it ("" when the error is not about one field)."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from ninja import Field, Schema, Status


class FieldErrorOut(Schema):
    field: str = Field(
        description="the request's field, as a path where nested (spec.window.days); empty for the whole request"
    )
    message: str


class ErrorOut(Schema):
    detail: list[FieldErrorOut]


def refused(errors: Iterable[tuple[str, str]]) -> Status[dict[str, Any]]:
    """A 422 answer listing (field, message) pairs."""
    return Status(422, {"detail": [{"field": field, "message": message} for field, message in errors]})


def validation_errors(error: ValidationError, names: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """A Django ValidationError as (field, message) pairs; `names` renames model fields to the request's
    names, and errors not about one field (`__all__`, or a plain message list) get the field ""."""
    if not hasattr(error, "error_dict"):
        return [("", message) for message in error.messages]
    names = names or {}
    return [
        ("" if field == "__all__" else names.get(field, field), message)
        for field, messages in error.message_dict.items()
        for message in messages
    ]
