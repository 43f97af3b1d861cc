"""Public pool."""
