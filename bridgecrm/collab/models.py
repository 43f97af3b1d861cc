"""Comments and followers."""
