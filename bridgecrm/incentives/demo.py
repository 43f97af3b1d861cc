"""Demo incentives: a commission plan for every rep, two bonus rules, a promotion criterion, the
statements of last quarter's months (approved by each rep's manager) and of the current month
(draft). Runs after the demo's targets and scorecards; with none, statements pay at the first band's
rate and carry no bonus, and nothing fails."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count

from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.incentives import policies, selectors, services
from bridgecrm.incentives.models import BonusRule, CommissionPlan, StatementStatus
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.training.models import TrainingCourse
from bridgecrm.users.capabilities import APPROVE_STATEMENTS, MANAGE_INCENTIVES
from bridgecrm.users.models import Role, User

BANDS = [{"from": "0", "rate": "1.5"}, {"from": "80", "rate": "2.5"}, {"from": "100", "rate": "3"}]


def _approver_for(rep: User, admin: User) -> User:
    manager = rep.team.manager if rep.team is not None else None
    usable = manager is not None and manager.pk != rep.pk and manager.is_active and manager.can(APPROVE_STATEMENTS)
    if manager is not None and usable and selectors.reps_for_approval(manager).filter(pk=rep.pk).exists():
        return manager
    return admin


def create_demo_incentives(*, today: dt.date) -> dict[str, int]:
    admin = next(
        (u for u in User.objects.filter(is_active=True, role__code="admin").order_by("pk") if u.can(MANAGE_INCENTIVES)),
        None,
    )
    counts = {"commission plans": 0, "bonus rules": 0, "promotion criteria": 0, "statements": 0}
    if admin is None:
        return counts
    start = dt.date(today.year - 1, 1, 1)
    plan = services.plan_save(
        actor=admin,
        values={
            "name": "销售提成标准方案 Standard commission",
            "basis": "signed",
            "band_mode": "marginal",
            "bands": BANDS,
            "accelerator": "1.5",
            "cap": "60000",
        },
    )
    services.plan_save(
        actor=admin,
        values={
            "name": "回款提成方案 Collections commission",
            "basis": "collected",
            "band_mode": "whole",
            "bands": [{"from": "0", "rate": "1"}, {"from": "90", "rate": "2"}],
            "is_active": False,
        },
    )
    margin = services.plan_save(
        actor=admin,
        values={
            "name": "毛利提成试点 Margin commission (pilot)",
            "basis": "margin",
            "band_mode": "marginal",
            "bands": [{"from": "0", "rate": "6"}, {"from": "80", "rate": "8"}, {"from": "100", "rate": "10"}],
        },
    )
    counts["commission plans"] = CommissionPlan.objects.count()
    rep_role = Role.objects.filter(code="rep").first()
    if rep_role is not None:
        services.plan_assign(actor=admin, plan=plan, role=rep_role, valid_from=start)
        # One rep pilots the margin plan (a plan given to the rep wins over the role's): the one with
        # the most won deals whose margin is unknown (a line without a cost), so the demo statements
        # show why such deals are not paid; else the last rep.
        role_reps = User.objects.filter(is_active=True, role=rep_role)
        unknown = (
            Deal.objects.filter(status=DealStatus.WON, cost_base__isnull=True, lines__isnull=False, owner__in=role_reps)
            .values("owner_id")
            .annotate(n=Count("id", distinct=True))
            .order_by("-n", "owner_id")
            .first()
        )
        pilot = role_reps.filter(pk=unknown["owner_id"]).first() if unknown else role_reps.order_by("-pk").first()
        if pilot is not None:
            services.plan_assign(actor=admin, plan=margin, user=pilot, valid_from=start)
    services.bonus_rule_create(actor=admin, name="优秀 Excellent", min_total=Decimal(90), amount=Decimal("5000"))
    services.bonus_rule_create(actor=admin, name="良好 Good", min_total=Decimal(80), amount=Decimal("2000"))
    counts["bonus rules"] = BonusRule.objects.count()
    course = TrainingCourse.objects.order_by("pk").first()
    services.criterion_create(
        actor=admin, name="晋升高级销售 Senior sales", min_score="85", quarters=3, course=course, min_tenure_months=12
    )
    counts["promotion criteria"] = 1
    reps = list(User.objects.filter(is_active=True, role=rep_role).select_related("team__manager").order_by("pk"))
    this_month = Period.containing(PeriodKind.MONTH, today)
    last_quarter = Period.containing(PeriodKind.QUARTER, today).previous()
    for month in last_quarter.months():
        for rep in reps:
            approver = _approver_for(rep, admin)
            statement = services.statement_generate(actor=approver, user=rep, period=month)
            if statement.status == StatementStatus.DRAFT and policies.may_approve(approver, statement):
                services.statement_approve(actor=approver, statement=statement)
            counts["statements"] += 1
    for rep in reps:
        services.statement_generate(actor=_approver_for(rep, admin), user=rep, period=this_month)
        counts["statements"] += 1
    return counts
