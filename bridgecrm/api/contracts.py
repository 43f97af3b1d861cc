# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for contracts: the same selectors and services as the UI."""

from ninja import Router

router = Router(tags=["contracts"])
