"""Customer tiers and follow-up routines."""
