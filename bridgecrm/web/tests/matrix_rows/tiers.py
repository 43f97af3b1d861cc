"""Authorization-matrix rows for tiers (see matrix_support.py)."""

from __future__ import annotations

from bridgecrm.web.tests.matrix_support import Case

ROWS: list[Case] = []
