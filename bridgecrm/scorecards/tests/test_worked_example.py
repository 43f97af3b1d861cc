"""The worked example of docs/scorecards.md: 5 reps × 6 metrics, reproduced from database records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridgecrm.conftest import Company
from bridgecrm.scorecards import selectors, services
from bridgecrm.scorecards.tests.helpers import Q1, TODAY, worked_example

pytestmark = pytest.mark.django_db

# rep: (raw values in RULES order, points in RULES order, total, rank)
EXPECTED = {
    "rep1": (
        ["180000.00", "90000.00", "0.5000", "5", "12", "90000.00"],
        ["27.00", "18.00", "10.00", "10.00", "20.00", "15.00"],
        "100.00",
        1,
    ),
    "rep2": (
        ["150000.00", "100000.00", "0.2500", "3", "8", "150000.00"],
        ["30.00", "20.00", "0.00", "6.00", "12.00", "15.00"],
        "83.00",
        3,
    ),
    "rep3": (
        ["120000.00", "120000.00", "0.7500", "6", "4", "40000.00"],
        ["36.00", "20.00", "10.00", "12.00", "0.00", "8.00"],
        "86.00",
        2,
    ),
    "rep4": (
        ["60000.00", "40000.00", "1.0000", "2", "10", "60000.00"],
        ["15.00", "8.00", "10.00", "4.00", "20.00", "12.00"],
        "69.00",
        4,
    ),
    "rep5": (
        ["0.00", "0.00", "0.0000", "7", "5", None],
        ["0.00", "0.00", "0.00", "12.00", "4.00", "0.00"],
        "16.00",
        5,
    ),
}


def test_worked_example_reproduces_the_documented_numbers(company: Company) -> None:
    card, reps = worked_example(company)
    evaluation = services.evaluation_run(actor=company.admin, scorecard=card, period=Q1, today=TODAY)
    got = {}
    for entry in evaluation.entries.select_related("user"):
        lines = entry.breakdown["metrics"]
        got[entry.user.username] = (
            [x["raw"] for x in lines],
            [x["points"] for x in lines],
            str(entry.total),
            entry.rank,
        )
    assert got == EXPECTED
    rep5 = evaluation.entries.get(user=reps["rep5"])
    statuses = [x["status"] for x in rep5.breakdown["metrics"]]
    assert statuses == ["no_target", "ok", "ok", "ok", "ok", "no_data"]
    rep1 = evaluation.entries.get(user=reps["rep1"])
    assert rep1.total == Decimal("100.00")
    text = selectors.explain(rep1.breakdown["metrics"][1])
    assert text == "90,000.00 of 100,000.00 target → 90.0 % → 18.00 of 20.00 points (capped at 100 %)"
