"""Writes: quotes (quotes.py), contracts and attachments (contracts.py), plans and payments (payments.py)."""
