"""Authorization-matrix rows for commissions, bonuses and promotion (see matrix_support.py).

The world's owner (team A) has a draft statement for 2026-07 under a plan assigned to him.
Statements: the owner sees his own; managers with ``incentives.view_rates`` their subtree's (so
manager_a); admins all; everyone else 404. Approving needs ``statements.approve`` over the rep: the
owner sees his statement but may not approve it (403). Plans and bonus rules (the rates) are for
``incentives.view_rates`` / ``incentives.manage`` holders (managers read, admins change); reps get
403. Promotion eligibility is open to everyone signed in, scoped to the people one looks after.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bridgecrm.core.periods import Period
from bridgecrm.incentives import services
from bridgecrm.incentives.models import BonusRule
from bridgecrm.web.tests.matrix_support import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    admin_only,
    api_user,
    row,
    signed_in,
    url,
    visible_to,
)

SEES_STATEMENT = frozenset({"owner", "manager_a", "admin"})
JULY = Period.month(2026, 7)


def build(world: World) -> None:
    admin = world.c.admin
    plan = services.plan_save(
        actor=admin,
        values={
            "name": "Matrix plan",
            "basis": "signed",
            "bands": [{"from": "0", "rate": "2"}, {"from": "80", "rate": "3"}],
        },
    )
    assignment = services.plan_assign(actor=admin, plan=plan, user=world.c.owner, valid_from=dt.date(2026, 1, 1))
    # Team B's rep is on the plan too, so that manager_b's "generate" has someone to write for.
    services.plan_assign(actor=admin, plan=plan, user=world.c.other_rep, valid_from=dt.date(2026, 1, 1))
    statement = services.statement_generate(actor=admin, user=world.c.owner, period=JULY)
    rule = BonusRule.objects.create(name="Matrix bonus", min_total=Decimal(90), amount=Decimal(500))
    criterion = services.criterion_create(actor=admin, name="Matrix criterion", min_score="85")
    world.extra.update(
        {"plan": plan, "assignment": assignment, "statement": statement, "bonus_rule": rule, "criterion": criterion}
    )


def statement_pk(w: World) -> int:
    return int(w.extra["statement"].pk)


def plan_pk(w: World) -> int:
    return int(w.extra["plan"].pk)


def web_lists_statement(w: World, response: Any) -> bool:
    return w.extra["statement"].pk in {s.pk for s in response.context["statements"]}


def api_lists_statement(w: World, response: Any) -> bool:
    return w.extra["statement"].pk in {s["id"] for s in response.json()["items"]}


def approve(allowed: Outcome, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=NOT_FOUND,
        other_rep=NOT_FOUND,
        manager_a=allowed,
        manager_b=NOT_FOUND,
        admin=allowed,
    )


def rates(outcome: Outcome, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=FORBIDDEN,
        other_rep=FORBIDDEN,
        manager_a=outcome,
        manager_b=outcome,
        admin=outcome,
    )


def approvers(outcome: Outcome) -> dict[str, Outcome]:
    return rates(outcome)


def plan_data(w: World) -> dict[str, Any]:
    return {
        "name": "Matrix plan 2",
        "basis": "collected",
        "band_mode": "whole",
        "accelerator": "1.5",
        "cap": "",
        "is_active": "on",
        "band_from_0": "0",
        "band_rate_0": "1.5",
    }


N = "incentives:"
A = "api-1.0.0:"

ROWS: list[Case] = [
    Case(
        N + "statements",
        "GET",
        url(N + "statements"),
        signed_in(OK),
        probe=web_lists_statement,
        probe_seen_by=SEES_STATEMENT,
    ),
    Case(
        N + "statements_generate",
        "POST",
        url(N + "statements_generate"),
        approvers(SAVED),
        data=lambda w: {"period": "2026-07"},
    ),
    Case(
        N + "statements_export",
        "GET",
        url(N + "statements_export"),
        signed_in(OK),
        data=lambda w: {"period": "2026-07"},
    ),
    Case(N + "statement", "GET", url(N + "statement", statement_id=statement_pk), visible_to(SEES_STATEMENT, OK)),
    Case(N + "statement_approve", "POST", url(N + "statement_approve", statement_id=statement_pk), approve(SAVED)),
    Case(
        N + "statement_regenerate", "POST", url(N + "statement_regenerate", statement_id=statement_pk), approve(SAVED)
    ),
    Case(N + "plans", "GET", url(N + "plans"), rates(OK)),
    Case(N + "plan_new", "GET", url(N + "plan_new"), admin_only(OK)),
    Case(N + "plan_new", "POST", url(N + "plan_new"), admin_only(SAVED), data=plan_data),
    Case(N + "plan", "GET", url(N + "plan", plan_id=plan_pk), rates(OK)),
    Case(N + "plan", "POST", url(N + "plan", plan_id=plan_pk), {**rates(FORBIDDEN), "admin": SAVED}, data=plan_data),
    Case(
        N + "plan_assign",
        "POST",
        url(N + "plan_assign", plan_id=plan_pk),
        admin_only(SAVED),
        data=lambda w: {"team": str(w.c.team_b.pk), "valid_from": "2026-01-01"},
    ),
    Case(
        N + "plan_unassign",
        "POST",
        url(N + "plan_unassign", assignment_id=lambda w: w.extra["assignment"].pk),
        admin_only(SAVED),
    ),
    Case(N + "bonus_rules", "GET", url(N + "bonus_rules"), rates(OK)),
    Case(
        N + "bonus_rules",
        "POST",
        url(N + "bonus_rules"),
        {**rates(FORBIDDEN), "admin": SAVED},
        data=lambda w: {"name": "Matrix bonus 2", "min_total": "80", "amount": "200"},
    ),
    Case(
        N + "bonus_rule_delete",
        "POST",
        url(N + "bonus_rule_delete", rule_id=lambda w: w.extra["bonus_rule"].pk),
        admin_only(SAVED),
    ),
    Case(N + "promotion", "GET", url(N + "promotion"), signed_in(OK)),
    Case(
        N + "promotion",
        "POST",
        url(N + "promotion"),
        admin_only(SAVED),
        data=lambda w: {"name": "Matrix criterion 2", "min_score": "80", "quarters": "2"},
    ),
    Case(
        N + "criterion_delete",
        "POST",
        url(N + "criterion_delete", criterion_id=lambda w: w.extra["criterion"].pk),
        admin_only(SAVED),
    ),
    Case(
        A + "statement_list",
        "GET",
        url(A + "statement_list"),
        api_user(OK),
        operation="GET /api/v1/incentives/statements",
        probe=api_lists_statement,
        probe_seen_by=SEES_STATEMENT,
    ),
    Case(
        A + "statement_detail",
        "GET",
        url(A + "statement_detail", statement_id=statement_pk),
        visible_to(SEES_STATEMENT, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/incentives/statements/{statement_id}",
    ),
    Case(
        A + "statement_approve",
        "POST",
        url(A + "statement_approve", statement_id=statement_pk),
        approve(OK_SAVED, anonymous=UNAUTHENTICATED),
        operation="POST /api/v1/incentives/statements/{statement_id}/approve",
    ),
    Case(
        A + "commission_plan_list",
        "GET",
        url(A + "commission_plan_list"),
        rates(OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/incentives/plans",
    ),
    Case(
        A + "commission_plan_detail",
        "GET",
        url(A + "commission_plan_detail", plan_id=plan_pk),
        rates(OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/incentives/plans/{plan_id}",
    ),
]
