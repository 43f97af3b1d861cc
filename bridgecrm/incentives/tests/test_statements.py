"""Statements from real deals and payments: lines, totals, clawback, bonus, approval and locking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
import time_machine
from django.utils import translation

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.activities.selectors import notification_text
from bridgecrm.conftest import Company
from bridgecrm.contracts.models import Contract, ContractStatus, Payment
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.core import scheduler
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.incentives import selectors, services, tasks
from bridgecrm.incentives.models import (
    BonusRule,
    CommissionPlan,
    LineKind,
    Statement,
    StatementLine,
    StatementStatus,
)
from bridgecrm.incentives.tests.helpers import AUGUST, JULY, locked_entry, plan, target, won_deal
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.targets.models import Measure
from bridgecrm.tiers.tests.helpers import customer, paid

pytestmark = pytest.mark.django_db


def lines_of(statement: Statement) -> list[tuple[str, str, Any, Any]]:
    return [(ln.kind, ln.source_label, ln.base_amount, ln.amount) for ln in statement.lines.order_by("position")]


def test_example_5_statement_lines_add_up_to_the_total(company: Company) -> None:
    plan(company.admin, company.owner, accelerator="1.5", cap="3000")
    target(company.owner, "100000")
    won_deal(company.admin, company.owner, "50000", dt.date(2026, 7, 5), "Alpha")
    won_deal(company.admin, company.owner, "40000", dt.date(2026, 7, 12), "Beta")
    won_deal(company.admin, company.owner, "30000", dt.date(2026, 7, 20), "Gamma")
    won_deal(company.admin, company.owner, "99999", dt.date(2026, 8, 1), "Next month")
    won_deal(company.admin, company.teammate, "99999", dt.date(2026, 7, 2), "Not his")
    locked_entry(company.owner, "91.50", Period.quarter(2026, 3))  # ends 30 Sep: not July's
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    assert lines_of(statement) == [
        ("commission", "Alpha · Account Alpha", D("50000.00"), D("1000.00")),
        ("commission", "Beta · Account Beta", D("30000.00"), D("600.00")),
        ("commission", "Beta · Account Beta", D("10000.00"), D("300.00")),
        ("commission", "Gamma · Account Gamma", D("30000.00"), D("900.00")),
        ("accelerator", "Gamma · Account Gamma", D("20000.00"), D("300.00")),
        ("cap", "", None, D("-100.00")),
    ]
    assert statement.basis_total == D("120000.00") and statement.attainment == D("120.00")
    assert statement.total == D("3000.00") == sum(ln.amount for ln in statement.lines.all())
    assert all(ln.deal_id for ln in statement.lines.exclude(kind=LineKind.CAP))
    # Regenerating a draft gives the same lines, not more.
    again = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    assert again.pk == statement.pk and lines_of(again) == lines_of(statement)
    assert StatementLine.objects.count() == 6


def test_collected_basis_counts_payments_on_the_reps_contracts(company: Company) -> None:
    plan(company.admin, company.owner, basis="collected", name="Collections")
    target(company.owner, "10000", measure=Measure.COLLECTED_AMOUNT)
    account = customer(company.owner, "Payer")
    paid(company.owner, account, "8000.00", dt.date(2026, 7, 3))
    paid(company.owner, account, "4000.50", dt.date(2026, 7, 9))
    statement = services.statement_generate(actor=company.admin, user=company.owner, period=JULY)
    assert [ln.amount for ln in statement.lines.all()] == [D("160.00"), D("120.02")]
    assert statement.total == D("280.02") and statement.attainment == D("120.01")
    assert all(ln.payment_id for ln in statement.lines.all())


def test_margin_is_a_basis_and_unknown_bases_are_refused(company: Company) -> None:
    made = services.plan_save(
        actor=company.admin, values={"name": "M", "basis": "margin", "bands": [{"from": 0, "rate": 1}]}
    )
    assert made.basis == "margin"
    with pytest.raises(ApplicationError) as info:
        services.plan_save(
            actor=company.admin, values={"name": "C", "basis": "cost", "bands": [{"from": 0, "rate": 1}]}
        )
    assert info.value.code == "invalid"
    assert CommissionPlan.objects.count() == 1


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([], "at least one band"),
        ([{"from": "10", "rate": "2"}], "starts at 0"),
        ([{"from": "0", "rate": "2"}, {"from": "0", "rate": "3"}], "above the one before"),
        ([{"from": "0", "rate": "200"}], "between"),
        ([{"from": "0", "rate": "x"}], "Enter a number"),
    ],
)
def test_bad_bands_are_refused_and_nothing_saved(company: Company, bands: list[Any], message: str) -> None:
    with pytest.raises(ApplicationError) as info:
        services.plan_save(actor=company.admin, values={"name": "Bad", "basis": "signed", "bands": bands})
    assert message in str(info.value.message)
    assert not selectors.plans(actor=company.admin).exists()


def test_only_incentives_managers_define_plans(company: Company) -> None:
    for actor in (company.manager_a, company.owner):
        with pytest.raises(PermissionDenied):
            plan(actor, company.owner)


def test_clawback_after_approval_for_deleted_payment_and_terminated_contract(company: Company) -> None:
    plan(company.admin, company.owner, basis="collected")
    account = customer(company.owner, "Payer")
    paid(company.owner, account, "5000.00", dt.date(2026, 7, 3))
    paid(company.owner, account, "1000.00", dt.date(2026, 7, 4))
    july = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    assert july.total == D("120.00")
    services.statement_approve(actor=company.manager_a, statement=july)
    refunded = Payment.objects.get(amount=D("5000.00"))
    payment_services.payment_delete(actor=company.admin, payment=refunded)
    july.refresh_from_db()
    assert july.total == D("120.00")  # approved: never changes
    august = services.statement_generate(actor=company.manager_a, user=company.owner, period=AUGUST)
    claw = august.lines.get()
    assert (claw.kind, claw.amount, claw.source_label) == (
        LineKind.CLAWBACK,
        D("-100.00"),
        refunded.contract.number + " · Payer",
    )
    assert claw.clawback_of is not None and claw.clawback_of.statement_id == july.pk
    assert august.total == D("-100.00")
    # Regenerating August keeps one clawback; September does not take it again.
    services.statement_generate(actor=company.manager_a, user=company.owner, period=AUGUST)
    september = services.statement_generate(actor=company.manager_a, user=company.owner, period=Period.month(2026, 9))
    assert StatementLine.objects.filter(kind=LineKind.CLAWBACK).count() == 1 and september.total == 0


def test_clawback_for_a_deal_whose_contract_is_terminated(company: Company) -> None:
    plan(company.admin, company.owner)
    deal = won_deal(company.admin, company.owner, "10000", dt.date(2026, 7, 5), "Kept")
    lost = won_deal(company.admin, company.owner, "20000", dt.date(2026, 7, 6), "Terminated")
    july = services.statement_generate(actor=company.admin, user=company.owner, period=JULY)
    services.statement_approve(actor=company.admin, statement=july)
    contract = Contract.objects.create(
        number="HT-1", title="t", customer=lost.customer, deal=lost, amount=D("20000"), owner=company.owner,
        status=ContractStatus.TERMINATED,
    )  # fmt: skip
    assert contract.pk and deal.pk
    august = services.statement_generate(actor=company.admin, user=company.owner, period=AUGUST)
    assert [(ln.kind, ln.deal_id, ln.amount) for ln in august.lines.all()] == [
        (LineKind.CLAWBACK, lost.pk, D("-400.00"))
    ]
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.OPEN)  # reopened: clawed back too
    august = services.statement_generate(actor=company.admin, user=company.owner, period=AUGUST)
    assert august.total == D("-600.00")


def test_bonus_from_a_locked_evaluation_once(company: Company) -> None:
    BonusRule.objects.create(name="Good", min_total=D(80), amount=D("1000.00"))
    BonusRule.objects.create(name="Excellent", min_total=D(90), amount=D("3000.00"))
    entry = locked_entry(company.owner, "91.50", Period.quarter(2026, 3))
    low = locked_entry(company.teammate, "79.99", Period.quarter(2026, 3))
    september = Period.month(2026, 9)
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=september)
    bonus = statement.lines.get()
    assert (bonus.kind, bonus.amount, bonus.evaluation_entry_id, bonus.band) == (
        "bonus",
        D("3000.00"),
        entry.pk,
        "Excellent",
    )
    assert statement.total == D("3000.00")
    assert services.statement_generate(actor=company.manager_a, user=company.teammate, period=september).total == 0
    assert low.pk
    services.statement_approve(actor=company.manager_a, statement=statement)
    quarter = services.statement_generate(actor=company.manager_a, user=company.owner, period=Period.quarter(2026, 3))
    assert quarter.total == 0  # the September statement paid it


def test_approve_locks_notifies_and_is_refused_twice(company: Company) -> None:
    plan(company.admin, company.owner)
    won_deal(company.admin, company.owner, "1000", dt.date(2026, 7, 5))
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    with pytest.raises(PermissionDenied):
        services.statement_approve(actor=company.owner, statement=statement)
    with pytest.raises(PermissionDenied):
        services.statement_approve(actor=company.manager_b, statement=statement)
    assert Statement.objects.get().status == StatementStatus.DRAFT
    services.statement_approve(actor=company.manager_a, statement=statement)
    note = Notification.objects.get(recipient=company.owner)
    assert note.kind == NotificationKind.STATEMENT_READY
    with translation.override("en"):
        text = notification_text(note)
    assert text == f"Your commission statement for 2026-07 is approved: {statement.total:,} CNY"
    with pytest.raises(ApplicationError) as info:
        services.statement_approve(actor=company.admin, statement=statement)
    assert info.value.code == "locked"
    with pytest.raises(ApplicationError):
        services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    assert Statement.objects.get().total == D("20.00")


def test_generate_needs_approval_rights_over_the_rep(company: Company) -> None:
    for actor in (company.owner, company.manager_b, company.teammate):
        with pytest.raises(PermissionDenied):
            services.statement_generate(actor=actor, user=company.owner, period=JULY)
    assert not Statement.objects.exists()
    plan(company.admin, company.owner)
    assert services.statements_generate(actor=company.manager_a, period=JULY) == 1  # the teammate has no plan
    assert list(Statement.objects.values_list("user__username", flat=True)) == ["owner"]


def test_visibility_of_statements(company: Company) -> None:
    for user in (company.owner, company.teammate, company.other_rep):
        services.statement_generate(actor=company.admin, user=user, period=JULY)
    seen = {
        name: {s.user.username for s in selectors.statements(actor=getattr(company, name))}
        for name in ("owner", "teammate", "other_rep", "manager_a", "manager_b", "admin")
    }
    assert seen == {
        "owner": {"owner"},
        "teammate": {"teammate"},
        "other_rep": {"other_rep"},
        "manager_a": {"owner", "teammate"},
        "manager_b": {"other_rep"},
        "admin": {"owner", "teammate", "other_rep"},
    }


def test_plan_resolution_rep_over_team_over_role(company: Company) -> None:
    from bridgecrm.users.models import Role

    by_role = services.plan_save(
        actor=company.admin, values={"name": "Role", "basis": "signed", "bands": [{"from": 0, "rate": 1}]}
    )
    by_team = services.plan_save(
        actor=company.admin, values={"name": "Team", "basis": "signed", "bands": [{"from": 0, "rate": 2}]}
    )
    by_rep = services.plan_save(
        actor=company.admin, values={"name": "Rep", "basis": "signed", "bands": [{"from": 0, "rate": 3}]}
    )
    services.plan_assign(
        actor=company.admin, plan=by_role, role=Role.objects.get(code="rep"), valid_from=dt.date(2026, 1, 1)
    )
    assert selectors.plan_for(company.owner, JULY) == by_role
    services.plan_assign(actor=company.admin, plan=by_team, team=company.region, valid_from=dt.date(2026, 1, 1))
    assert selectors.plan_for(company.owner, JULY) == by_team
    services.plan_assign(
        actor=company.admin,
        plan=by_rep,
        user=company.owner,
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 6, 30),
    )
    assert selectors.plan_for(company.owner, JULY) == by_team  # expired before July ends
    assert selectors.plan_for(company.owner, Period.month(2026, 6)) == by_rep


def test_promotion_eligibility_with_figures(company: Company) -> None:
    from bridgecrm.training.models import Enrollment, TrainingCourse, TrainingSession

    course = TrainingCourse.objects.create(title="Negotiation")
    crit = services.criterion_create(actor=company.admin, name="Senior", min_score="85", quarters=3, course=course)
    for q, total in ((1, "88"), (2, "90"), (3, "86")):
        locked_entry(company.owner, total, Period.quarter(2026, q))
        locked_entry(company.teammate, "95" if q != 2 else "84.99", Period.quarter(2026, q))
    session = TrainingSession.objects.create(course=course, starts_at=dt.datetime(2026, 5, 1, 2, tzinfo=dt.UTC))
    Enrollment.objects.create(
        session=session, user=company.owner, completed_at=dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    )
    results = {r.user.username: r for r in selectors.eligibility(actor=company.manager_a, today=dt.date(2026, 10, 15))}
    assert results["owner"].eligible and results["owner"].criterion == crit
    assert results["owner"].conditions[0].detail == "2026-Q1: 88.00, 2026-Q2: 90.00, 2026-Q3: 86.00"
    assert not results["teammate"].eligible
    assert [c.met for c in results["teammate"].conditions] == [False, False]
    assert set(results) == {"owner", "teammate", "manager_a"}
    mine = selectors.eligibility(actor=company.owner, today=dt.date(2026, 10, 15))
    assert [r.user.username for r in mine] == ["owner"]


def test_example_4_clawback_from_a_capped_statement(company: Company) -> None:
    plan(company.admin, company.owner, accelerator="1.5", cap="3000")
    target(company.owner, "100000")
    won_deal(company.admin, company.owner, "50000", dt.date(2026, 7, 5), "Alpha")
    beta = won_deal(company.admin, company.owner, "40000", dt.date(2026, 7, 12), "Beta")
    won_deal(company.admin, company.owner, "30000", dt.date(2026, 7, 20), "Gamma")
    july = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    services.statement_approve(actor=company.manager_a, statement=july)
    Contract.objects.create(
        number="HT-9", title="t", customer=beta.customer, deal=beta, amount=D("40000"), owner=company.owner,
        status=ContractStatus.TERMINATED,
    )  # fmt: skip
    august = services.statement_generate(actor=company.manager_a, user=company.owner, period=AUGUST)
    assert [(ln.kind, ln.deal_id, ln.base_amount, ln.amount) for ln in august.lines.all()] == [
        (LineKind.CLAWBACK, beta.pk, D("30000.00"), D("-580.65")),
        (LineKind.CLAWBACK, beta.pk, D("10000.00"), D("-290.32")),
    ]
    assert august.total == D("-870.97")


def test_month_end_task_drafts_everyones_statement_once_and_leaves_approved_ones(company: Company) -> None:
    """On 1 August at 09:30 Shanghai time (01:30 UTC) the worker drafts July for everyone with a plan;
    a second run (a restart, a catch-up) rebuilds the same drafts, and an approved one never moves."""
    plan(company.admin, company.owner)
    plan(company.admin, company.teammate)
    won_deal(company.admin, company.owner, "1000", dt.date(2026, 7, 5), "Alpha")
    won_deal(company.admin, company.teammate, "2000", dt.date(2026, 7, 31), "Beta")
    won_deal(company.admin, company.teammate, "9000", dt.date(2026, 8, 1), "August")
    mine = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    services.statement_approve(actor=company.manager_a, statement=mine)
    approved_at = Statement.objects.get(pk=mine.pk).approved_at
    with time_machine.travel(dt.datetime(2026, 8, 1, 1, 30, tzinfo=dt.UTC), tick=False):
        assert tasks.prepare_last_month_statements.call() == 1  # the teammate's; the owner's is approved
        assert tasks.prepare_last_month_statements.call() == 1
    drafts = Statement.objects.filter(status=StatementStatus.DRAFT)
    assert [(s.user_id, s.period.code, s.total, s.generated_by_id) for s in drafts] == [
        (company.teammate.pk, "2026-07", D("40.00"), None)
    ]
    assert StatementLine.objects.filter(statement__in=drafts).count() == 1
    assert Statement.objects.get(pk=mine.pk).approved_at == approved_at
    assert Statement.objects.count() == 2  # nobody without a plan got an empty statement
    entry = next(e for e in scheduler.registered_entries() if e.name == "incentives.prepare_statements")
    assert entry.cron == "30 1 1 * *" and not entry.catch_up
