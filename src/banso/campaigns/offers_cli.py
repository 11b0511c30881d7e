"""`banso campaigns` actions of the offers area."""

from __future__ import annotations

from typing import Any


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
