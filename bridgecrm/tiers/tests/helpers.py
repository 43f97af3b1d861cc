"""Test data for tiers: customers at fixed dates, payments, won deals and follow-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bridgecrm.activities.models import FollowUp
from bridgecrm.activities.tests.factories import default_pipeline, make_deal
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.core import dates
from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import DealStatus
from bridgecrm.users.models import User

SINCE = dt.datetime(2025, 1, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def customer(owner: User, name: str, *, since: dt.datetime = SINCE, tier: str = "", **kwargs: Any) -> Customer:
    made = customer_services.customer_create(actor=owner, name=name, **kwargs)
    Customer.objects.filter(pk=made.pk).update(created_at=since, owner_since=since, tier=tier)
    made.refresh_from_db()
    return made


def paid(owner: User, target: Customer, amount: str, on: dt.date, currency: str = "CNY") -> None:
    contract = contract_services.contract_create(
        actor=owner,
        customer=target,
        title=f"Contract {on}",
        amount=Decimal(amount),
        currency=currency,
        signed_on=on,
        owner=owner,
    )
    payment_services.plan_lines_set(
        actor=owner,
        contract=contract,
        lines=[payment_services.PlanLineIn(due_on=on, amount=amount)],
        lock_version=contract.lock_version,
    )
    contract = contract_services.contract_set_status(actor=owner, contract=contract, status="active")
    payment_services.payment_record(actor=owner, contract=contract, received_on=on, amount=amount)


def won(admin: User, target: Customer, amount: str, on: dt.date) -> None:
    default_pipeline(admin)
    assert target.owner is not None
    deal = make_deal(target, target.owner, amount=Decimal(amount), amount_base=Decimal(amount))
    type(deal).objects.filter(pk=deal.pk).update(status=DealStatus.WON, closed_on=on)


def follow_up(target: Customer, on: dt.date, kind: str = "call", hour: int = 10) -> FollowUp:
    """A follow-up at ``hour`` o'clock company time on ``on`` (written directly: the dates are fixed)."""
    assert target.owner is not None
    at = dt.datetime.combine(on, dt.time(hour), tzinfo=dates.company_zone())
    return FollowUp.objects.create(customer=target, kind=kind, occurred_at=at, summary="done", owner=target.owner)
