# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for activities: the same selectors and services as the UI."""

from ninja import Router

router = Router(tags=["activities"])
