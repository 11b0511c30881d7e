"""task pages."""
