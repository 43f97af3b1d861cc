"""Test data for incentives: a plan for a rep, targets, won deals, payments, locked evaluations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bridgecrm.activities.tests.factories import default_pipeline, make_deal
from bridgecrm.core.periods import Period
from bridgecrm.customers.models import Customer
from bridgecrm.incentives import services
from bridgecrm.incentives.models import CommissionPlan
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.scorecards.models import Evaluation, EvaluationEntry, EvaluationStatus, Scorecard
from bridgecrm.targets.models import Measure, Target, TargetScope
from bridgecrm.tiers.tests.helpers import customer
from bridgecrm.users.models import User

JULY = Period.month(2026, 7)
AUGUST = Period.month(2026, 8)
BANDS = [{"from": "0", "rate": "2"}, {"from": "80", "rate": "3"}]


def plan(admin: User, user: User, **values: Any) -> CommissionPlan:
    made = services.plan_save(
        actor=admin,
        values={"name": "Standard", "basis": "signed", "band_mode": "marginal", "bands": BANDS, **values},
    )
    services.plan_assign(actor=admin, plan=made, user=user, valid_from=dt.date(2026, 1, 1))
    return made


def target(user: User, amount: str, period: Period = JULY, measure: str = Measure.SIGNED_AMOUNT) -> Target:
    return Target.objects.create(
        measure=measure,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope=TargetScope.REP,
        user=user,
        amount=Decimal(amount),
    )


def won_deal(
    admin: User, owner: User, amount: str, on: dt.date, name: str = "Deal", account: Customer | None = None
) -> Deal:
    default_pipeline(admin)
    account = account or customer(owner, f"Account {name}")
    deal = make_deal(account, owner, name=name, amount=Decimal(amount), amount_base=Decimal(amount))
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.WON, closed_on=on)
    deal.refresh_from_db()
    return deal


def locked_entry(user: User, total: str, quarter: Period, scorecard: Scorecard | None = None) -> EvaluationEntry:
    scorecard = scorecard or Scorecard.objects.get_or_create(name="Sales scorecard")[0]
    evaluation, _ = Evaluation.objects.get_or_create(
        scorecard=scorecard,
        period_start=quarter.start,
        period_end=quarter.end,
        defaults={"period_kind": quarter.kind, "status": EvaluationStatus.LOCKED},
    )
    return EvaluationEntry.objects.create(evaluation=evaluation, user=user, total=Decimal(total), rank=1)
