"""Display names for event kinds: the data keeps its codes (`login`), people read translated names (ログイン).

Apps register the kinds they produce from their AppConfig.ready(); an unregistered kind shows as its code.
"""

from collections.abc import Mapping

from django.utils.functional import Promise

_EVENT_KINDS: dict[str, str | Promise] = {}


def register_event_kinds(labels: Mapping[str, str | Promise]) -> None:
    _EVENT_KINDS.update(labels)


def event_kind_label(kind: str) -> str:
    return str(_EVENT_KINDS.get(kind, kind))


def event_kinds() -> dict[str, str]:
    """Every registered kind with its display name, in registration order (for pickers)."""
    return {kind: str(label) for kind, label in _EVENT_KINDS.items()}
