"""Pages: quotes (quotes.py), contracts (contracts.py), payments and collections (payments.py)."""
