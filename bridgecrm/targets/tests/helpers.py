"""Test data for targets: a company with last year's results, and a company target decomposed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bridgecrm.activities.tests.factories import default_pipeline, make_deal
from bridgecrm.conftest import Company
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.targets import services
from bridgecrm.targets.models import Target
from bridgecrm.tiers.tests.helpers import customer, follow_up, paid, won

__all__ = ["company_target", "customer", "follow_up", "open_deal", "paid", "won"]


def open_deal(admin: object, target: Customer, amount: str, close: dt.date, probability: int) -> Deal:
    default_pipeline(admin)  # type: ignore[arg-type]
    assert target.owner is not None
    deal = make_deal(target, target.owner, amount=Decimal(amount), amount_base=Decimal(amount))
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.OPEN, expected_close_date=close, probability=probability)
    deal.refresh_from_db()
    return deal


def company_target(
    c: Company, amount: str = "1000000.00", period: str = "2026", measure: str = "signed_amount"
) -> Target:
    return services.target_create(actor=c.admin, measure=measure, period=period, scope="company", amount=amount)
