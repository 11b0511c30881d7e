"""response pages."""
