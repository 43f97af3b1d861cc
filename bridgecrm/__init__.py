"""Bridge: sales management for the sales department of a small or mid-size company."""
