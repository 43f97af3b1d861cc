"""Test helpers: deals made directly (the deals helper owns deal services), follow-ups and tasks
through our services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from bridgecrm.activities import services
from bridgecrm.activities.models import FollowUp, Task
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.models import Deal, DealStatus, Pipeline, Stage
from bridgecrm.users.models import User


def default_pipeline(admin: User) -> Pipeline:
    found = Pipeline.objects.filter(is_default=True).first()
    return found or pipeline_services.pipeline_create(actor=admin, name="Sales")


def make_deal(
    customer: Customer, owner: User, *, stage: Stage | None = None, name: str = "Deal", **kwargs: Any
) -> Deal:
    pipeline = stage.pipeline if stage is not None else Pipeline.objects.get(is_default=True)
    stage = stage or pipeline.stages.order_by("order").first()
    assert stage is not None
    return Deal.objects.create(
        name=name,
        customer=customer,
        pipeline=pipeline,
        stage=stage,
        status=DealStatus.OPEN,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        owner=owner,
        team=owner.team,
        **kwargs,
    )


def log(customer: Customer, actor: User | None = None, *, summary: str = "Called", **kwargs: Any) -> FollowUp:
    actor = actor or customer.owner
    assert actor is not None
    kwargs.setdefault("kind", "call")
    return services.follow_up_log(actor=actor, customer=customer, summary=summary, **kwargs)


def make_task(
    actor: User, *, title: str = "Call back", due_in: dt.timedelta = dt.timedelta(hours=2), **kwargs: Any
) -> Task:
    kwargs.setdefault("due_at", timezone.now() + due_in)
    return services.task_create(actor=actor, title=title, **kwargs)
