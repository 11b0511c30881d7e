"""outbox pages."""
