"""staleness pages."""
