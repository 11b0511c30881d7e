"""`banso support ...` actions of the analytics area (see management/commands/support.py)."""

from typing import Any


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
