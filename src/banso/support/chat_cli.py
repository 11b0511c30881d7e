"""`banso support ...` actions of the chat area (see management/commands/support.py)."""

from typing import Any


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
