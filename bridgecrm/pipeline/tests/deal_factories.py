from __future__ import annotations

from typing import Any

from bridgecrm.customers.models import Customer
from bridgecrm.pipeline import deals
from bridgecrm.pipeline.models import Deal, Pipeline, Stage
from bridgecrm.users.models import User


def stage(pipeline: Pipeline, order: int) -> Stage:
    return Stage.objects.get(pipeline=pipeline, order=order)


def make_deal(owner: User, customer: Customer, name: str = "CRM 项目", **kwargs: Any) -> Deal:
    return deals.deal_create(actor=owner, customer=customer, name=name, **kwargs)
