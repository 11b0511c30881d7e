"""The inquiry-type classifier (stub: the classification area fills this in)."""

from __future__ import annotations

from .models import Inquiry


def suggest(inquiry: Inquiry) -> None:
    """Set inquiry.suggested_type / suggested_confidence from the active model (no model: leave empty)."""
