"""Helpers for the contract and payment tests: contracts made through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bridgecrm.contracts.models import Contract
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.users.models import User

TODAY = dt.date(2026, 6, 30)


def make_contract(
    owner: User,
    *,
    customer: Customer | None = None,
    amount: str = "10000.00",
    currency: str = "CNY",
    active: bool = True,
    plan: list[tuple[dt.date, str]] | None = None,
    **values: Any,
) -> Contract:
    customer = customer or make_customer(owner, name="合同客户 Contract Co")
    values.setdefault("title", "Annual licence")
    values.setdefault("signed_on", dt.date(2026, 1, 10) if active else None)
    contract = contract_services.contract_create(
        actor=owner, customer=customer, amount=Decimal(amount), currency=currency, owner=owner, **values
    )
    if plan:
        payment_services.plan_lines_set(
            actor=owner,
            contract=contract,
            lines=[payment_services.PlanLineIn(due_on=d, amount=a) for d, a in plan],
            lock_version=contract.lock_version,
        )
        contract.refresh_from_db()
    if active:
        contract = contract_services.contract_set_status(actor=owner, contract=contract, status="active")
    return contract
