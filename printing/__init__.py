"""placeholder package init."""
