"""trigger pages."""
