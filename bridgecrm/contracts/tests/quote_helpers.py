"""Shared set-up for the quote tests: a deal with lines (made directly: deals have their own services)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridgecrm.contracts.models import Quote
from bridgecrm.contracts.services import quotes as services
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealLine, Pipeline, Product
from bridgecrm.users.models import User

LINES: list[dict[str, Any]] = [
    {"name": "CRM 标准版许可", "unit": "套", "quantity": "3", "unit_price": "1000.00", "discount_percent": "10"},
    {"name": "实施服务", "unit": "人天", "quantity": "2.5", "unit_price": "1999.99", "discount_percent": "0"},
]


def make_deal(owner: User, customer: Customer, *, admin: User, product: Product | None = None) -> Deal:
    from bridgecrm.pipeline import services as pipeline_services

    pipeline = Pipeline.objects.filter(is_default=True).first() or pipeline_services.pipeline_create(
        actor=admin, name="报价测试漏斗", is_default=True
    )
    stage = pipeline.stages.order_by("order").first()
    assert stage is not None
    deal = Deal.objects.create(
        name="华东工厂 CRM 项目",
        customer=customer,
        pipeline=pipeline,
        stage=stage,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        owner=owner,
        team=owner.team,
        currency="CNY",
        amount=Decimal("5000.00"),
    )
    DealLine.objects.create(
        deal=deal,
        product=product,
        name="CRM 标准版许可",
        quantity=Decimal("5"),
        unit_price=Decimal("1000.00"),
        discount_percent=Decimal("12.5"),
        subtotal=Decimal("4375.00"),
        order=0,
    )
    DealLine.objects.create(
        deal=deal,
        name="培训",
        quantity=Decimal("1"),
        unit_price=Decimal("800.00"),
        discount_percent=Decimal("0"),
        subtotal=Decimal("800.00"),
        order=1,
    )
    return deal


def make_quote(owner: User, customer: Customer, **kwargs: Any) -> Quote:
    values: dict[str, Any] = {"lines": LINES, "currency": "CNY", "tax_rate": "13"} | kwargs
    return services.quote_create(actor=owner, customer=customer, **values)
