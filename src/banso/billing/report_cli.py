"""`banso billing` actions of this area (see management/commands/billing.py)."""

from __future__ import annotations

from typing import Any


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
