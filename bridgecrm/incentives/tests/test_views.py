"""The incentive pages: statements list and detail (rates hidden from reps), approve, export, plans,
bonus rules, promotion; query budgets that do not grow with the rows."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D
from typing import Any

import pytest
from django.urls import reverse

from bridgecrm.conftest import Company, signed_in
from bridgecrm.incentives import services
from bridgecrm.incentives.models import BonusRule, CommissionPlan, PromotionCriterion, Statement, StatementStatus
from bridgecrm.incentives.tests.helpers import JULY, plan, target, won_deal
from bridgecrm.users.tests.factories import UserFactory, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def july(company: Company) -> Statement:
    plan(company.admin, company.owner, accelerator="1.5")
    target(company.owner, "1000")
    won_deal(company.admin, company.owner, "900", dt.date(2026, 7, 5), "Alpha")
    won_deal(company.admin, company.owner, "345.67", dt.date(2026, 7, 8), "Beta")
    return services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)


def test_rep_sees_amounts_but_not_rates(company: Company, july: Statement) -> None:
    page = signed_in(company.owner).get(reverse("incentives:statement", kwargs={"statement_id": july.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Alpha · Account Alpha" in html and 'data-testid="statement-total"' in html
    assert not page.context["show_rates"] and 'data-testid="plan-rates"' not in html
    assert '<th class="num">Commission rate</th>' not in html and "≥ 80 %" not in html and "×1.5" not in html
    assert page.context["may_approve"] is False
    manager = signed_in(company.manager_a).get(reverse("incentives:statement", kwargs={"statement_id": july.pk}))
    assert manager.context["show_rates"] and manager.context["may_approve"]
    assert '<th class="num">Commission rate</th>' in manager.content.decode() and "≥ 80 %" in manager.content.decode()


def test_statement_total_is_the_sum_of_lines(july: Statement) -> None:
    july.refresh_from_db()
    # 900 at 2 % up to 800, 100 at 3 %; Beta: 345.67 at 3 % (245.67 above target also ×0.5 → 1.5 %).
    assert [ln.amount for ln in july.lines.order_by("position")] == [
        D("16.00"), D("3.00"), D("10.37"), D("3.69"),
    ]  # fmt: skip
    assert july.total == D("33.06")


def test_manager_approves_from_the_page(company: Company, july: Statement) -> None:
    client = signed_in(company.manager_a)
    response = client.post(reverse("incentives:statement_approve", kwargs={"statement_id": july.pk}))
    assert response.status_code == 302
    assert Statement.objects.get(pk=july.pk).status == StatementStatus.APPROVED
    again = client.post(reverse("incentives:statement_approve", kwargs={"statement_id": july.pk}), follow=True)
    assert "approved and locked" in again.content.decode()


def test_generate_from_the_list(company: Company) -> None:
    plan(company.admin, company.owner)
    plan(company.admin, company.teammate)
    client = signed_in(company.manager_a)
    response = client.post(reverse("incentives:statements_generate"), {"period": "2026-07"})
    assert response.status_code == 302 and "period=2026-07" in response["Location"]
    assert set(Statement.objects.values_list("user__username", flat=True)) == {"owner", "teammate"}
    bad = client.post(reverse("incentives:statements_generate"), {"period": "July"}, follow=True)
    assert "Enter a period such as" in bad.content.decode()


@pytest.mark.parametrize("count", [2, 30])
def test_statement_list_costs_fixed_queries(company: Company, count: int, django_assert_max_num_queries: Any) -> None:
    for i in range(count):
        rep = UserFactory(username=f"rep{i}", role=role("rep"), team=company.team_a)
        services.statement_generate(actor=company.manager_a, user=rep, period=JULY)
    client = signed_in(company.manager_a)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("incentives:statements"), {"period": "2026-07"})
    assert len(page.context["statements"]) == count


@pytest.mark.parametrize("deals", [2, 25])
def test_statement_detail_costs_fixed_queries(company: Company, deals: int, django_assert_max_num_queries: Any) -> None:
    plan(company.admin, company.owner)
    for i in range(deals):
        won_deal(company.admin, company.owner, "100", dt.date(2026, 7, 5), f"D{i}")
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    client = signed_in(company.owner)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("incentives:statement", kwargs={"statement_id": statement.pk}))
    assert len(page.context["lines"]) == deals


def test_payroll_export_has_two_sheets_and_hides_rates_from_reps(company: Company, july: Statement) -> None:
    from openpyxl import load_workbook

    response = signed_in(company.manager_a).get(reverse("incentives:statements_export"), {"period": "2026-07"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["Payroll", "Lines"]
    payroll = list(book["Payroll"].iter_rows(values_only=True))
    assert payroll[1][1] == "owner" and D(str(payroll[1][-1])) == D("33.06")
    lines = list(book["Lines"].iter_rows(values_only=True))
    assert "Rate %" in lines[0] and len(lines) == 5
    rep = signed_in(company.owner).get(reverse("incentives:statements_export"), {"period": "2026-07"})
    rep_lines = list(load_workbook(io.BytesIO(rep.content), read_only=True)["Lines"].iter_rows(values_only=True))
    assert "Rate %" not in rep_lines[0] and len(rep_lines) == 5
    other = signed_in(company.other_rep).get(reverse("incentives:statements_export"), {"period": "2026-07"})
    assert len(list(load_workbook(io.BytesIO(other.content), read_only=True)["Payroll"].iter_rows())) == 1
    assert signed_in(company.owner).get(reverse("incentives:statements_export"), {"period": "x"}).status_code == 400


def test_plan_pages(company: Company) -> None:
    admin = signed_in(company.admin)
    data = {"name": "New", "basis": "signed", "band_mode": "marginal", "accelerator": "1", "is_active": "on",
            "band_from_0": "0", "band_rate_0": "2", "band_from_1": "100", "band_rate_1": "4"}  # fmt: skip
    response = admin.post(reverse("incentives:plan_new"), data)
    assert response.status_code == 302
    created = CommissionPlan.objects.get()
    assert created.bands == [{"from": "0", "rate": "2"}, {"from": "100", "rate": "4"}]
    bad = admin.post(reverse("incentives:plan_new"), {**data, "basis": "cost"})
    assert bad.status_code == 400
    assert CommissionPlan.objects.count() == 1
    margin = admin.post(reverse("incentives:plan_new"), {**data, "name": "On margin", "basis": "margin"})
    assert margin.status_code == 302 and CommissionPlan.objects.get(name="On margin").basis == "margin"
    CommissionPlan.objects.filter(name="On margin").delete()
    manager = signed_in(company.manager_a)
    page = manager.get(reverse("incentives:plan", kwargs={"plan_id": created.pk}))
    assert page.status_code == 200 and "disabled" in page.content.decode()
    assert page.context["form"]["name"].value() == "New" and page.context["form"]["band_rate_1"].value() == "4"
    edit = admin.post(reverse("incentives:plan", kwargs={"plan_id": created.pk}), {**data, "cap": "5000"})
    assert edit.status_code == 302 and CommissionPlan.objects.get().cap == D("5000.00")
    assert signed_in(company.owner).get(reverse("incentives:plans")).status_code == 403


def test_bonus_rules_and_promotion_pages(company: Company) -> None:
    admin = signed_in(company.admin)
    assert (
        admin.post(reverse("incentives:bonus_rules"), {"name": "Top", "min_total": "90", "amount": "500"}).status_code
        == 302
    )
    assert BonusRule.objects.get().amount == D("500.00")
    bad = admin.post(reverse("incentives:bonus_rules"), {"name": "Zero", "min_total": "90", "amount": "0"})
    assert bad.status_code == 400 and BonusRule.objects.count() == 1
    assert (
        admin.post(
            reverse("incentives:promotion"), {"name": "Senior", "min_tenure_months": "6", "quarters": "3"}
        ).status_code
        == 302
    )
    empty = admin.post(reverse("incentives:promotion"), {"name": "Nothing", "quarters": "3"})
    assert empty.status_code == 400 and "at least one condition" in empty.content.decode()
    assert PromotionCriterion.objects.count() == 1
    page = signed_in(company.owner).get(reverse("incentives:promotion"))
    assert [r.user.username for r in page.context["results"]] == ["owner"]


@pytest.mark.parametrize("people", [1, 20])
def test_promotion_page_costs_fixed_queries(company: Company, people: int, django_assert_max_num_queries: Any) -> None:
    from bridgecrm.core.periods import Period
    from bridgecrm.incentives.tests.helpers import locked_entry

    services.criterion_create(actor=company.admin, name="Senior", min_score="85", quarters=2, min_tenure_months=1)
    for i in range(people):
        rep = UserFactory(username=f"rep{i}", role=role("rep"), team=company.team_a)
        locked_entry(rep, "90", Period.quarter(2026, 3))
    client = signed_in(company.manager_a)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("incentives:promotion"))
    assert len(page.context["results"]) == people + 3  # and manager_a, owner, teammate


@pytest.mark.parametrize("count", [1, 15])
def test_plan_and_bonus_lists_cost_fixed_queries(
    company: Company, count: int, django_assert_max_num_queries: Any
) -> None:
    for i in range(count):
        services.plan_save(
            actor=company.admin, values={"name": f"P{i}", "basis": "signed", "bands": [{"from": "0", "rate": "1"}]}
        )
        BonusRule.objects.create(name=f"B{i}", min_total=D(80 + i), amount=D(100))
    client = signed_in(company.manager_a)
    with django_assert_max_num_queries(8):
        plans = client.get(reverse("incentives:plans"))
    with django_assert_max_num_queries(8):
        rules = client.get(reverse("incentives:bonus_rules"))
    assert len(plans.context["plans"]) == len(rules.context["rules"]) == count
    assert rules.context["form"] is None  # managers read the rules, admins change them
