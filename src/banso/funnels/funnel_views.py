"""funnel pages."""
