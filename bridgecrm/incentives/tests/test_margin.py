"""Commission on margin: worked example 8 of docs/incentives.md exact to the cent, "not paid" lines
for deals whose margin is unknown or not positive, clawback, and the page, API and export."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from bridgecrm.conftest import Company, signed_in
from bridgecrm.incentives import services
from bridgecrm.incentives.compute import Band, Item, Rules, commission
from bridgecrm.incentives.models import LineKind
from bridgecrm.incentives.tests.helpers import AUGUST, JULY, plan, target, won_deal
from bridgecrm.pipeline import deals as deal_services
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.users import services as user_services

pytestmark = pytest.mark.django_db
BANDS = (Band(D(0), D(2)), Band(D(80), D(3)))


def test_example_7_pure_arithmetic() -> None:
    """Margin paid, signed amount measured: B's margin is split 1 : 3 like its signed amount."""
    items = [
        Item("deal:A", D("20000.00"), D("50000.00")),
        Item("deal:C", D(0), D("20000.00")),  # margin unknown: counts for attainment, earns nothing
        Item("deal:B", D("15432.10"), D("40000.00")),
        Item("deal:D", D(0), D("10000.00")),  # sold at a loss
    ]
    result = commission(items, D("100000"), Rules(BANDS))
    assert result.attainment == D("120.00")
    assert [(ln.key, ln.base, ln.rate, ln.amount) for ln in result.lines] == [
        ("deal:A", D("20000.00"), D(2), D("400.00")),
        ("deal:B", D("3858.03"), D(2), D("77.16")),  # 15,432.10 × 10,000 ÷ 40,000 = 3,858.025
        ("deal:B", D("11574.07"), D(3), D("347.22")),  # the rest, so the parts add up to the margin
    ]
    assert result.total == D("824.38") and result.basis == D("35432.10")


def test_margin_parts_with_an_accelerator_add_up() -> None:
    items = [Item("deal:A", D("33333.33"), D("150000.00"))]
    result = commission(items, D("100000"), Rules(BANDS, accelerator=D("1.5")))
    commission_bases = [ln.base for ln in result.lines if ln.kind == "commission"]
    assert sum(commission_bases, D(0)) == D("33333.33")
    accelerated = [ln for ln in result.lines if ln.kind == "accelerator"]
    assert [ln.base for ln in accelerated] == [D("11111.11")]  # a third of the deal is above the target


def _costed(company: Company, name: str, on: dt.date, lines: list[dict[str, Any]]) -> Deal:
    deal = won_deal(company.admin, company.owner, "1", on, name)
    # A manager (products.view_cost) sets the lines and their costs; the amount follows the lines.
    return deal_services.deal_lines_set(actor=company.manager_a, deal=deal, version=deal.version, lines=lines)


def _example_7(company: Company) -> dict[str, Deal]:
    plan(company.admin, company.owner, name="Margin", basis="margin")
    target(company.owner, "100000")
    return {
        "A": _costed(company, "Alpha", dt.date(2026, 7, 5), [
            {"name": "许可", "quantity": "1", "unit_price": "50000", "unit_cost": "30000"},
        ]),
        "C": _costed(company, "Gamma", dt.date(2026, 7, 8), [
            {"name": "许可", "quantity": "1", "unit_price": "15000", "unit_cost": "9000"},
            {"name": "实施服务", "quantity": "1", "unit_price": "5000"},
        ]),
        "B": _costed(company, "Beta", dt.date(2026, 7, 12), [
            {"name": "服务器", "quantity": "2", "unit_price": "20000", "unit_cost": "12283.95"},
        ]),
        "D": _costed(company, "Delta", dt.date(2026, 7, 20), [
            {"name": "硬件", "quantity": "1", "unit_price": "10000", "unit_cost": "10500"},
        ]),
    }  # fmt: skip


def test_example_7_statement_on_margin(company: Company) -> None:
    deals = _example_7(company)
    assert [(d.amount_base, d.cost_base) for d in deals.values()] == [
        (D("50000.00"), D("30000.00")),
        (D("20000.00"), None),
        (D("40000.00"), D("24567.90")),
        (D("10000.00"), D("10500.00")),
    ]
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    rows = [(ln.kind, ln.deal_id, ln.base_amount, ln.rate, ln.band, ln.amount) for ln in statement.lines.all()]
    assert rows == [
        ("commission", deals["A"].pk, D("20000.00"), D(2), "0–80 %", D("400.00")),
        ("commission", deals["B"].pk, D("3858.03"), D(2), "0–80 %", D("77.16")),
        ("commission", deals["B"].pk, D("11574.07"), D(3), "≥ 80 %", D("347.22")),
        ("not_paid", deals["C"].pk, D("20000.00"), None, "margin_unknown:实施服务", D("0.00")),
        ("not_paid", deals["D"].pk, D("10000.00"), None, "no_margin", D("0.00")),
    ]
    assert (statement.basis_total, statement.target, statement.attainment, statement.total) == (
        D("35432.10"),
        D("100000.00"),
        D("120.00"),
        D("824.38"),
    )
    # Idempotent while a draft.
    again = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    assert again.total == D("824.38") and again.lines.count() == 5


def test_reasons_shown_on_the_page_api_and_export(company: Company) -> None:
    _example_7(company)
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    page = signed_in(company.owner).get(reverse("incentives:statement", args=[statement.pk])).content.decode()
    assert "not paid: margin unknown (no cost on line “实施服务”)" in page
    assert "not paid: no positive margin (cost at or above the amount)" in page
    assert "margin_unknown" not in page  # the code never shows
    secret = user_services.token_create(actor=company.owner, name="t").secret
    body = (
        Client(headers={"Authorization": f"Bearer {secret}"})
        .get(f"/api/v1/incentives/statements/{statement.pk}")
        .json()
    )
    notes = [(ln["kind"], ln["note"]) for ln in body["lines"] if ln["kind"] == "not_paid"]
    assert notes == [
        ("not_paid", "not paid: margin unknown (no cost on line “实施服务”)"),
        ("not_paid", "not paid: no positive margin (cost at or above the amount)"),
    ]
    export = signed_in(company.manager_a).get(reverse("incentives:statements_export"), {"period": "2026-07"})
    cells = [
        c
        for row in load_workbook(io.BytesIO(export.content), read_only=True)["Lines"].iter_rows(values_only=True)
        for c in row
    ]
    assert any(isinstance(c, str) and "no cost on line “实施服务”" in c for c in cells)


def test_margin_clawback_when_a_paid_deal_is_reopened(company: Company) -> None:
    deals = _example_7(company)
    july = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    services.statement_approve(actor=company.manager_a, statement=july)
    Deal.objects.filter(pk=deals["B"].pk).update(status=DealStatus.OPEN)
    Deal.objects.filter(pk=deals["C"].pk).update(status=DealStatus.LOST)  # not paid: nothing to take back
    august = services.statement_generate(actor=company.manager_a, user=company.owner, period=AUGUST)
    assert [(ln.kind, ln.deal_id, ln.amount) for ln in august.lines.all()] == [
        (LineKind.CLAWBACK, deals["B"].pk, D("-77.16")),
        (LineKind.CLAWBACK, deals["B"].pk, D("-347.22")),
    ]
    assert august.total == D("-424.38")


def test_a_deal_without_lines_is_not_paid_and_says_why(company: Company) -> None:
    plan(company.admin, company.owner, name="Margin", basis="margin")
    deal = won_deal(company.admin, company.owner, "8000", dt.date(2026, 7, 3), "No lines")
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    line = statement.lines.get()
    assert (line.kind, line.deal_id, line.band, line.amount, statement.total) == (
        "not_paid",
        deal.pk,
        "margin_unknown",
        D("0.00"),
        D("0.00"),
    )
    page = signed_in(company.owner).get(reverse("incentives:statement", args=[statement.pk])).content.decode()
    assert "not paid: margin unknown (the deal has no product lines)" in page
