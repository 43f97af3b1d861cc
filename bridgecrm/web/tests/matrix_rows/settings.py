"""Authorization-matrix rows for company settings pages: exchange rates (see matrix_support.py)."""

from __future__ import annotations

from bridgecrm.web.tests.matrix_support import CREATED, OK, SAVED, UNAUTHENTICATED, Case, admin_only, api_user, url

ROWS: list[Case] = [
    Case("contracts:exchange_rates", "GET", url("contracts:exchange_rates"), admin_only(OK)),
    Case(
        "contracts:exchange_rates",
        "POST",
        url("contracts:exchange_rates"),
        admin_only(SAVED),
        data=lambda w: {"action": "rate", "currency": "USD", "valid_from": "2026-01-01", "rate": "7.12"},
    ),
    Case(
        "api-1.0.0:exchange_rates_list",
        "GET",
        url("api-1.0.0:exchange_rates_list"),
        api_user(OK),
        operation="GET /api/v1/exchange-rates",
    ),
    Case(
        "api-1.0.0:exchange_rate_set",
        "POST",
        url("api-1.0.0:exchange_rate_set"),
        admin_only(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"currency": "EUR", "valid_from": "2026-01-01", "rate": "7.8"},
        operation="POST /api/v1/exchange-rates",
    ),
]
